"""Routes of the directory: contacts, organizations, engineers and service contracts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Body, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from contracts.commands import DeactivateEntry, DirectoryKind, EditEntry, RegisterEntry
from services.subscription.api.auth import Caller, Writer
from services.subscription.api.commands import execute
from services.subscription.api.deps import (
    AppSettings,
    Commands,
    Cursor,
    Limit,
    MinPosition,
    Pool,
    SortParam,
    fresh,
)
from services.subscription.api.problems import Problem
from services.subscription.api.schemas import (
    DeactivateIn,
    EngineerIn,
    EngineerPatch,
    PartyIn,
    PartyPatch,
    ServiceContractIn,
    ServiceContractPatch,
)
from services.subscription.read import directory as directory_queries
from services.subscription.read.queries import parse_sort
from services.subscription.write.handlers import Context, Outcome

KINDS: list[tuple[DirectoryKind, str, type, type]] = [
    ("contact", "contacts", PartyIn, PartyPatch),
    ("organization", "organizations", PartyIn, PartyPatch),
    ("engineer", "engineers", EngineerIn, EngineerPatch),
    ("service_contract", "service-contracts", ServiceContractIn, ServiceContractPatch),
]


def _created(outcome: Outcome) -> tuple[int, dict[str, Any]]:
    return 201, {"id": str(outcome.stream_id), "position": outcome.position}


def router_for(kind: DirectoryKind, path: str, create_model: type, patch_model: type) -> APIRouter:
    """CRUD routes of one kind of directory entry."""
    label = kind.replace("_", " ")
    router = APIRouter(prefix=f"/{path}", tags=[path])

    async def register(
        request: Request, principal: Writer, commands: Commands, body: Any
    ) -> JSONResponse:
        entry_id = uuid4()

        async def send(ctx: Context) -> Outcome:
            now = datetime.now(UTC)
            fields = body.model_dump(mode="json")
            command = RegisterEntry(kind=kind, entry_id=entry_id, fields=fields, now=now)
            return await commands.directory(ctx, command)

        return await execute(request, principal, send, _created)

    register.__annotations__["body"] = Annotated[create_model, Body()]
    router.add_api_route(
        "", register, methods=["POST"], status_code=201, summary=f"Register a {label}"
    )

    async def listing(
        principal: Caller,
        pool: Pool,
        settings: AppSettings,
        q: Annotated[str | None, Query(max_length=200)] = None,
        active: bool | None = None,
        sort: SortParam = None,
        cursor: Cursor = None,
        limit: Limit = 50,
        min_position: MinPosition = None,
    ) -> dict[str, Any]:
        try:
            order = parse_sort(sort, directory_queries.SORTS, directory_queries.DEFAULT_SORT)
        except ValueError as exc:
            raise bad_query("sort", str(exc)) from None
        await fresh(pool, settings, "directory", min_position)
        try:
            page = await directory_queries.list_entries(
                pool, principal.tenant_id, kind, q, active, order, cursor, limit
            )
        except ValueError as exc:
            raise bad_query("cursor", str(exc)) from None
        return {"items": page.items, "next_cursor": page.next_cursor}

    router.add_api_route("", listing, methods=["GET"], summary=f"List {label}s")

    async def one(
        entry_id: UUID,
        principal: Caller,
        pool: Pool,
        settings: AppSettings,
        min_position: MinPosition = None,
    ) -> JSONResponse:
        await fresh(pool, settings, "directory", min_position)
        entry = await directory_queries.get_entry(pool, principal.tenant_id, kind, entry_id)
        if entry is None:
            raise Problem(404, f"{label} {entry_id} not found", slug="not-found")
        return JSONResponse(jsonable_encoder(entry), headers={"ETag": f'"{entry["version"]}"'})

    router.add_api_route("/{entry_id}", one, methods=["GET"], summary=f"One {label}")

    async def edit(
        entry_id: UUID, request: Request, principal: Writer, commands: Commands, body: Any
    ) -> JSONResponse:
        async def send(ctx: Context) -> Outcome:
            command = EditEntry(
                kind=kind, entry_id=entry_id, fields=body.given(), now=datetime.now(UTC)
            )
            return await commands.directory(ctx, command)

        return await execute(request, principal, send)

    edit.__annotations__["body"] = Annotated[patch_model, Body()]
    router.add_api_route("/{entry_id}", edit, methods=["PATCH"], summary=f"Edit a {label}")

    async def deactivate(
        entry_id: UUID,
        request: Request,
        principal: Writer,
        commands: Commands,
        body: Annotated[DeactivateIn | None, Body()] = None,
    ) -> JSONResponse:
        async def send(ctx: Context) -> Outcome:
            reason = body.reason if body else None
            command = DeactivateEntry(
                kind=kind, entry_id=entry_id, reason=reason, now=datetime.now(UTC)
            )
            return await commands.directory(ctx, command)

        return await execute(request, principal, send)

    router.add_api_route(
        "/{entry_id}/deactivate", deactivate, methods=["POST"], summary=f"Deactivate a {label}"
    )
    return router


def bad_query(name: str, detail: str) -> Problem:
    """422 naming the query parameter at fault."""
    return Problem(
        422, detail, slug="validation-error", errors=[{"pointer": f"/{name}", "detail": detail}]
    )


routers = [router_for(*spec) for spec in KINDS]
