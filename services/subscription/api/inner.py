"""Routes of the Services, Hotspot and Devices tabs: list, add, edit, remove."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse

from services.subscription.api.auth import Caller
from services.subscription.api.calls import WriteCall, answer
from services.subscription.api.deps import (
    Cases,
    MinPosition,
    Pool,
    Reads,
    rendered,
    subscription_visible,
)
from services.subscription.api.problems import READ_ONE, WRITE_ON, problems
from services.subscription.api.schemas import TAB_LISTS, Changed, Removed
from services.subscription.read import inner as inner_queries
from services.subscription.usecases.account import ITEM_KINDS, ItemKind

Listing = Callable[..., Awaitable[list[dict[str, Any]]]]
LISTINGS: dict[str, Listing] = {
    "services": inner_queries.services,
    "hotspots": inner_queries.hotspots,
    "devices": inner_queries.devices,
}


def router_for(kind: ItemKind) -> APIRouter:
    """List, add, edit and remove routes of one kind of item."""
    router = APIRouter(prefix="/subscriptions/{subscription_id}", tags=[kind.path])
    listed = LISTINGS[kind.path]

    async def listing(
        subscription_id: UUID,
        principal: Caller,
        reads: Reads,
        pool: Pool,
        min_position: MinPosition = None,
    ) -> JSONResponse:
        await subscription_visible(reads, principal, subscription_id, min_position, "inner")
        return rendered({"items": await listed(pool, principal.tenant_id, subscription_id)})

    router.add_api_route(
        f"/{kind.path}",
        listing,
        methods=["GET"],
        summary=f"List {kind.label}s",
        response_model=TAB_LISTS[kind.path],
        responses=problems(*READ_ONE),
    )

    async def add(subscription_id: UUID, call: WriteCall, cases: Cases, body: Any) -> JSONResponse:
        return answer(await cases.account.add_item(call, kind, subscription_id, body))

    add.__annotations__["body"] = Annotated[kind.create_model, Body()]
    router.add_api_route(
        f"/{kind.path}",
        add,
        methods=["POST"],
        status_code=201,
        summary=f"Add a {kind.label}",
        response_model=Changed,
        responses=problems(*WRITE_ON),
    )

    async def edit(
        subscription_id: UUID, item_id: UUID, call: WriteCall, cases: Cases, body: Any
    ) -> JSONResponse:
        result = await cases.account.update_item(call, kind, subscription_id, item_id, body)
        return answer(result)

    edit.__annotations__["body"] = Annotated[kind.patch_model, Body()]
    router.add_api_route(
        f"/{kind.path}/{{item_id}}",
        edit,
        methods=["PATCH"],
        summary=f"Edit a {kind.label}",
        response_model=Changed,
        responses=problems(*WRITE_ON),
    )

    async def remove(
        subscription_id: UUID, item_id: UUID, call: WriteCall, cases: Cases
    ) -> JSONResponse:
        return answer(await cases.account.remove_item(call, kind, subscription_id, item_id))

    router.add_api_route(
        f"/{kind.path}/{{item_id}}",
        remove,
        methods=["DELETE"],
        summary=f"Remove a {kind.label}",
        response_model=Removed,
        responses=problems(*WRITE_ON),
    )
    return router


routers = [router_for(kind) for kind in ITEM_KINDS.values()]
