"""Resources of the API process, as FastAPI dependencies."""

from __future__ import annotations

import json
from typing import Annotated, Any
from uuid import UUID

import asyncpg
from fastapi import Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from services.subscription.access.tokens import Principal
from services.subscription.api.problems import Problem
from services.subscription.config import Settings
from services.subscription.read.freshness import Freshness, NotIssued, NotYetVisible
from services.subscription.read.subscriptions import exists
from services.subscription.usecases.bootstrap import UseCases


async def _pool(request: Request) -> asyncpg.Pool:
    return request.app.state.pool


async def _usecases(request: Request) -> UseCases:
    return request.app.state.usecases


async def _settings(request: Request) -> Settings:
    return request.app.state.settings


async def _freshness(request: Request) -> Freshness:
    return request.app.state.freshness


# Dependencies are coroutines: FastAPI runs a plain function in a worker thread, per request.
Pool = Annotated[asyncpg.Pool, Depends(_pool)]
Cases = Annotated[UseCases, Depends(_usecases)]
AppSettings = Annotated[Settings, Depends(_settings)]
Reads = Annotated[Freshness, Depends(_freshness)]

MinPosition = Annotated[
    int | None,
    Query(
        ge=0,
        le=2**63 - 1,
        description="Wait until the read model holds every event up to this position",
    ),
]
Limit = Annotated[int, Query(ge=1, le=500, description="Items per page")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]
SortParam = Annotated[str | None, Query(description="field, or -field for descending")]
Overdue = Annotated[
    bool | None,
    Query(
        description="true: owing on an invoice past its due date (UTC day) or suspended as "
        "overdue (the account read model); false: neither"
    ),
]
OnPlan = Annotated[UUID | None, Query(description="with a service on this catalogue plan")]


async def fresh(reads: Freshness, projection: str, position: int | None) -> None:
    """Wait for read-your-writes; 503 with Retry-After once the bound has passed."""
    try:
        await reads.wait(projection, position)
    except NotIssued as exc:
        raise bad_query("min_position", str(exc)) from None
    except NotYetVisible as exc:
        raise Problem(
            503, str(exc), slug="read-model-behind", headers={"Retry-After": "1"}
        ) from None


async def subscription_visible(
    reads: Freshness,
    principal: Principal,
    subscription_id: UUID,
    min_position: int | None,
    projection: str,
) -> None:
    """Wait for read-your-writes, then 404 unless the tenant has this subscription."""
    await fresh(reads, projection, min_position)
    await fresh(reads, "subscriptions", min_position)
    if not await exists(reads.pool, principal.tenant_id, subscription_id):
        raise Problem(404, f"subscription {subscription_id} not found", slug="not-found")


def bad_query(name: str, detail: str) -> Problem:
    """422 naming the query parameter at fault."""
    return Problem(
        422, detail, slug="validation-error", errors=[{"pointer": f"/{name}", "detail": detail}]
    )


class Json(JSONResponse):
    """JSON written in one pass: only the values JSON has no form for (UUID, datetime, Decimal,
    a model) go through jsonable_encoder, as json.dumps meets them, instead of first copying the
    whole body (a page of 500 items) into JSON's types."""

    def render(self, content: Any) -> bytes:
        return json.dumps(
            content,
            ensure_ascii=False,
            allow_nan=False,
            indent=None,
            separators=(",", ":"),
            default=jsonable_encoder,
        ).encode("utf-8")


def rendered(body: object, version: int | None = None) -> JSONResponse:
    """A read's body as it comes from the query, with the ETag of its version if it has one.

    The route's response_model documents the body; it is not run over it (a page of 500 items).
    """
    headers = {"ETag": f'"{version}"'} if version is not None else None
    return Json(body, headers=headers)
