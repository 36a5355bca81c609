"""Routes of RADIUS: setting PPPoE and hotspot passwords, and the tenant's NAS registry.

A password route takes no Idempotency-Key: a key keeps a hash of the request body, and that
body holds the password. Setting the same password again is harmless (PUT).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import asdict
from datetime import datetime
from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse

from services.subscription.api.auth import Caller, Writer
from services.subscription.api.calls import answer, if_match
from services.subscription.api.deps import Cases, Cursor, Json, Limit, bad_query, rendered
from services.subscription.api.problems import READ, READ_ONE, WRITE, WRITE_ON, problems
from services.subscription.api.schemas import Changed, Out
from services.subscription.usecases.calls import Call
from services.subscription.usecases.radius import NasIn, NasPatch, PasswordIn
from services.subscription.write.credentials import Nas as FoundNas

passwords = APIRouter(prefix="/subscriptions/{subscription_id}", tags=["radius"])
router = APIRouter(prefix="/nas", tags=["radius"])


class Nas(Out):
    """A NAS of the tenant; its shared secret is never answered back."""

    id: UUID
    name: str
    address: str
    type: str
    coa_port: int
    created_at: datetime
    updated_at: datetime


class NasPage(Out):
    items: list[Nas]
    next_cursor: str | None


class NasRemoved(Out):
    id: UUID


async def password_call(request: Request, principal: Writer) -> Call:
    """The caller of a password change: no idempotency key (it would keep the body's hash)."""
    raw = request.headers.get("x-correlation-id")
    try:
        correlation = UUID(raw) if raw else uuid4()
    except ValueError:
        correlation = uuid4()
    return Call(
        actor=principal.name,
        tenant_id=principal.tenant_id,
        correlation_id=correlation,
        expected_version=if_match(request),
    )


PasswordCall = Annotated[Call, Depends(password_call)]
_SET = (
    "The subscription's version and position; the password's NT hash is kept outside the "
    "events, which only record that it was set and by whom. The next login checks it."
)


@passwords.put(
    "/services/{item_id}/password",
    summary="Set a service's PPPoE password",
    description=_SET,
    response_model=Changed,
    responses=problems(*WRITE_ON),
)
async def service_password(
    subscription_id: UUID, item_id: UUID, body: PasswordIn, call: PasswordCall, cases: Cases
) -> JSONResponse:
    result = await cases.radius.set_password(call, subscription_id, "service", item_id, body)
    return answer(result)


@passwords.put(
    "/hotspots/{item_id}/password",
    summary="Set a hotspot account's password",
    description=_SET,
    response_model=Changed,
    responses=problems(*WRITE_ON),
)
async def hotspot_password(
    subscription_id: UUID, item_id: UUID, body: PasswordIn, call: PasswordCall, cases: Cases
) -> JSONResponse:
    result = await cases.radius.set_password(call, subscription_id, "hotspot", item_id, body)
    return answer(result)


@router.get("", summary="List the NAS", response_model=NasPage, responses=problems(*READ))
async def listing(
    principal: Caller, cases: Cases, cursor: Cursor = None, limit: Limit = 50
) -> JSONResponse:
    after = _after(cursor) if cursor else None
    found = await cases.radius.nas_list(principal.tenant_id, after, limit + 1)
    page, more = found[:limit], len(found) > limit
    next_cursor = _cursor(page[-1]) if more else None
    return rendered({"items": [asdict(n) for n in page], "next_cursor": next_cursor})


@router.get("/{nas_id}", summary="One NAS", response_model=Nas, responses=problems(*READ_ONE))
async def one(nas_id: UUID, principal: Caller, cases: Cases) -> JSONResponse:
    return rendered(asdict(await cases.radius.nas(principal.tenant_id, nas_id)))


@router.post(
    "",
    status_code=201,
    summary="Register a NAS",
    description=(
        "FreeRADIUS answers it within seconds: the radius process starts FreeRADIUS again "
        "when the registry changes (it reads its clients only at start)."
    ),
    response_model=Nas,
    responses=problems(*WRITE),
)
async def add(body: NasIn, principal: Writer, cases: Cases) -> JSONResponse:
    nas = await cases.radius.add_nas(_call(principal), body)
    return Json(asdict(nas), status_code=201, headers={"Location": f"/api/v1/nas/{nas.id}"})


@router.patch("/{nas_id}", summary="Edit a NAS", response_model=Nas, responses=problems(*WRITE_ON))
async def edit(
    nas_id: UUID, body: Annotated[NasPatch, Body()], principal: Writer, cases: Cases
) -> JSONResponse:
    return rendered(asdict(await cases.radius.edit_nas(_call(principal), nas_id, body)))


@router.delete(
    "/{nas_id}", summary="Remove a NAS", response_model=NasRemoved, responses=problems(*WRITE_ON)
)
async def remove(nas_id: UUID, principal: Writer, cases: Cases) -> JSONResponse:
    await cases.radius.remove_nas(_call(principal), nas_id)
    return rendered({"id": str(nas_id)})


def _call(principal: Writer) -> Call:
    return Call(actor=principal.name, tenant_id=principal.tenant_id)


def _cursor(nas: FoundNas) -> str:
    return base64.urlsafe_b64encode(f"{nas.name}\x00{nas.id}".encode()).decode()


def _after(cursor: str) -> tuple[str, UUID]:
    try:
        name, _, nas_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("\x00")
        return name, UUID(nas_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise bad_query("cursor", "not a cursor this API gave out") from None


routers = [passwords, router]
