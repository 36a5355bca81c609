"""Routes of the Services, Hotspot and Devices tabs: list, add, edit, remove."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from contracts import commands as c
from services.subscription.api.auth import Caller, Writer
from services.subscription.api.commands import execute
from services.subscription.api.deps import (
    AppSettings,
    Commands,
    MinPosition,
    Pool,
    subscription_visible,
)
from services.subscription.api.schemas import (
    DeviceIn,
    DevicePatch,
    HotspotIn,
    HotspotPatch,
    ServiceIn,
    ServicePatch,
)
from services.subscription.read import inner as inner_queries
from services.subscription.write.handlers import Context, Outcome

Listing = Callable[..., Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True)
class ItemKind:
    """One kind of item on the inner page and the commands that change it."""

    path: str
    label: str
    id_field: str
    create_model: type
    patch_model: type
    add: type
    update: type
    remove: type
    listing: Listing

    def add_command(self, subscription_id: UUID, item_id: UUID, body: Any) -> Any:
        """The command adding one item from its request body (the admin pages send it too)."""
        return self.add(
            subscription_id=subscription_id,
            fields=body.model_dump(mode="json"),
            now=datetime.now(UTC),
            **{self.id_field: item_id},
        )


KINDS = [
    ItemKind(
        "services", "service", "service_id", ServiceIn, ServicePatch,
        c.AddService, c.UpdateService, c.RemoveService, inner_queries.services,
    ),
    ItemKind(
        "hotspots", "hotspot account", "hotspot_id", HotspotIn, HotspotPatch,
        c.AddHotspot, c.UpdateHotspot, c.RemoveHotspot, inner_queries.hotspots,
    ),
    ItemKind(
        "devices", "device", "device_id", DeviceIn, DevicePatch,
        c.LinkDevice, c.UpdateDevice, c.UnlinkDevice, inner_queries.devices,
    ),
]  # fmt: skip


def item_created(item_id: UUID) -> Callable[[Outcome], tuple[int, dict[str, Any]]]:
    """201 with the new item's id, the stream's version and the position."""

    def answer(outcome: Outcome) -> tuple[int, dict[str, Any]]:
        return 201, {"id": str(item_id), "version": outcome.version, "position": outcome.position}

    return answer


def item_changed(item_id: UUID) -> Callable[[Outcome], tuple[int, dict[str, Any]]]:
    def answer(outcome: Outcome) -> tuple[int, dict[str, Any]]:
        return 200, {"id": str(item_id), "version": outcome.version, "position": outcome.position}

    return answer


def removed(outcome: Outcome) -> tuple[int, dict[str, Any]]:
    """DELETE answers the stream's version and the position."""
    return 200, {"version": outcome.version, "position": outcome.position}


def router_for(kind: ItemKind) -> APIRouter:
    """List, add, edit and remove routes of one kind of item."""
    router = APIRouter(prefix="/subscriptions/{subscription_id}", tags=[kind.path])

    async def listing(
        subscription_id: UUID,
        principal: Caller,
        pool: Pool,
        settings: AppSettings,
        min_position: MinPosition = None,
    ) -> dict[str, Any]:
        await subscription_visible(
            pool, settings, principal, subscription_id, min_position, "inner"
        )
        return {"items": await kind.listing(pool, principal.tenant_id, subscription_id)}

    router.add_api_route(f"/{kind.path}", listing, methods=["GET"], summary=f"List {kind.label}s")

    async def add(
        subscription_id: UUID, request: Request, principal: Writer, commands: Commands, body: Any
    ) -> JSONResponse:
        item_id = uuid4()

        async def send(ctx: Context) -> Outcome:
            command = kind.add_command(subscription_id, item_id, body)
            return await commands.subscription(ctx, command)

        return await execute(request, principal, send, item_created(item_id))

    add.__annotations__["body"] = Annotated[kind.create_model, Body()]
    router.add_api_route(
        f"/{kind.path}", add, methods=["POST"], status_code=201, summary=f"Add a {kind.label}"
    )

    async def edit(
        subscription_id: UUID,
        item_id: UUID,
        request: Request,
        principal: Writer,
        commands: Commands,
        body: Any,
    ) -> JSONResponse:
        async def send(ctx: Context) -> Outcome:
            command = kind.update(
                subscription_id=subscription_id,
                changes=body.given(),
                now=datetime.now(UTC),
                **{kind.id_field: item_id},
            )
            return await commands.subscription(ctx, command)

        return await execute(request, principal, send, item_changed(item_id))

    edit.__annotations__["body"] = Annotated[kind.patch_model, Body()]
    router.add_api_route(
        f"/{kind.path}/{{item_id}}", edit, methods=["PATCH"], summary=f"Edit a {kind.label}"
    )

    async def remove(
        subscription_id: UUID,
        item_id: UUID,
        request: Request,
        principal: Writer,
        commands: Commands,
    ) -> JSONResponse:
        async def send(ctx: Context) -> Outcome:
            command = kind.remove(
                subscription_id=subscription_id, now=datetime.now(UTC), **{kind.id_field: item_id}
            )
            return await commands.subscription(ctx, command)

        return await execute(request, principal, send, removed)

    router.add_api_route(
        f"/{kind.path}/{{item_id}}", remove, methods=["DELETE"], summary=f"Remove a {kind.label}"
    )
    return router


routers = [router_for(kind) for kind in KINDS]
