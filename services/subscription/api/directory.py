"""Routes of the directory: contacts, organizations, engineers and service contracts."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse

from contracts.commands import DirectoryKind
from services.subscription.api.auth import Caller
from services.subscription.api.calls import WriteCall, answer
from services.subscription.api.deps import (
    Cases,
    Cursor,
    Limit,
    MinPosition,
    Pool,
    Reads,
    SortParam,
    bad_query,
    fresh,
    rendered,
)
from services.subscription.api.problems import (
    READ,
    READ_ONE,
    WRITE,
    WRITE_ON,
    Problem,
    problems,
)
from services.subscription.api.schemas import ENTRIES, Changed, Registered
from services.subscription.read import directory as directory_queries
from services.subscription.read.queries import parse_sort
from services.subscription.usecases.inputs import (
    DeactivateIn,
    EngineerIn,
    EngineerPatch,
    PartyIn,
    PartyPatch,
    ReactivateIn,
    ServiceContractIn,
    ServiceContractPatch,
)

KINDS: list[tuple[DirectoryKind, str, type, type]] = [
    ("contact", "contacts", PartyIn, PartyPatch),
    ("organization", "organizations", PartyIn, PartyPatch),
    ("engineer", "engineers", EngineerIn, EngineerPatch),
    ("service_contract", "service-contracts", ServiceContractIn, ServiceContractPatch),
]


def router_for(kind: DirectoryKind, path: str, create_model: type, patch_model: type) -> APIRouter:
    """CRUD routes of one kind of directory entry."""
    router = APIRouter(prefix=f"/{path}", tags=[path])
    _add_reads(router, kind)
    _add_writes(router, kind, create_model, patch_model)
    return router


def _add_writes(
    router: APIRouter, kind: DirectoryKind, create_model: type, patch_model: type
) -> None:
    """Register, edit, deactivate and reactivate."""
    label = kind.replace("_", " ")

    async def register(call: WriteCall, cases: Cases, body: Any) -> JSONResponse:
        return answer(await cases.directory.register(call, kind, body))

    register.__annotations__["body"] = Annotated[create_model, Body()]
    router.add_api_route(
        "",
        register,
        methods=["POST"],
        status_code=201,
        summary=f"Register a {label}",
        response_model=Registered,
        responses=problems(*WRITE),
    )

    async def edit(entry_id: UUID, call: WriteCall, cases: Cases, body: Any) -> JSONResponse:
        return answer(await cases.directory.edit(call, kind, entry_id, body))

    edit.__annotations__["body"] = Annotated[patch_model, Body()]
    router.add_api_route(
        "/{entry_id}",
        edit,
        methods=["PATCH"],
        summary=f"Edit a {label}",
        response_model=Changed,
        responses=problems(*WRITE_ON),
    )

    async def deactivate(
        entry_id: UUID,
        call: WriteCall,
        cases: Cases,
        body: Annotated[DeactivateIn | None, Body()] = None,
    ) -> JSONResponse:
        return answer(await cases.directory.deactivate(call, kind, entry_id, body))

    router.add_api_route(
        "/{entry_id}/deactivate",
        deactivate,
        methods=["POST"],
        summary=f"Deactivate a {label}",
        response_model=Changed,
        responses=problems(*WRITE_ON),
    )

    async def reactivate(
        entry_id: UUID,
        call: WriteCall,
        cases: Cases,
        body: Annotated[ReactivateIn | None, Body()] = None,
    ) -> JSONResponse:
        return answer(await cases.directory.reactivate(call, kind, entry_id, body))

    router.add_api_route(
        "/{entry_id}/reactivate",
        reactivate,
        methods=["POST"],
        summary=f"Reactivate a deactivated {label}",
        description="An active one answers 409.",
        response_model=Changed,
        responses=problems(*WRITE_ON),
    )


def _add_reads(router: APIRouter, kind: DirectoryKind) -> None:
    """The list and one entry."""
    label = kind.replace("_", " ")
    entry_model, page_model = ENTRIES[kind]

    async def listing(
        principal: Caller,
        reads: Reads,
        pool: Pool,
        q: Annotated[str | None, Query(max_length=200)] = None,
        active: bool | None = None,
        sort: SortParam = None,
        cursor: Cursor = None,
        limit: Limit = 50,
        min_position: MinPosition = None,
    ) -> JSONResponse:
        try:
            order = parse_sort(sort, directory_queries.SORTS, directory_queries.DEFAULT_SORT)
        except ValueError as exc:
            raise bad_query("sort", str(exc)) from None
        await fresh(reads, "directory", min_position)
        try:
            page = await directory_queries.list_entries(
                pool, principal.tenant_id, kind, q, active, order, cursor, limit
            )
        except ValueError as exc:
            raise bad_query("cursor", str(exc)) from None
        return rendered({"items": page.items, "next_cursor": page.next_cursor})

    router.add_api_route(
        "",
        listing,
        methods=["GET"],
        summary=f"List {label}s",
        response_model=page_model,
        responses=problems(*READ),
    )

    async def one(
        entry_id: UUID,
        principal: Caller,
        reads: Reads,
        pool: Pool,
        min_position: MinPosition = None,
    ) -> JSONResponse:
        await fresh(reads, "directory", min_position)
        entry = await directory_queries.get_entry(pool, principal.tenant_id, kind, entry_id)
        if entry is None:
            raise Problem(404, f"{label} {entry_id} not found", slug="not-found")
        return rendered(entry, entry["version"])

    router.add_api_route(
        "/{entry_id}",
        one,
        methods=["GET"],
        summary=f"One {label}",
        response_model=entry_model,
        responses=problems(*READ_ONE),
    )


routers = [router_for(*spec) for spec in KINDS]
