"""Routes of subscriptions: create, list, summary, edit, status, engineer, history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from contracts.commands import AssignEngineer, ChangeStatus, CreateSubscription, EditSubscription
from contracts.subscription import Status
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
from services.subscription.api.directory import bad_query
from services.subscription.api.problems import Problem
from services.subscription.api.schemas import (
    EngineerAssignmentIn,
    StatusIn,
    SubscriptionIn,
    SubscriptionPatch,
)
from services.subscription.read import subscriptions as views
from services.subscription.read.queries import parse_sort
from services.subscription.write.handlers import Context, Outcome

router = APIRouter(prefix="/subscriptions", tags=["subscriptions"])


@router.post("", status_code=201, summary="Create a subscription")
async def create(
    body: SubscriptionIn, request: Request, principal: Writer, commands: Commands
) -> JSONResponse:
    subscription_id = uuid4()
    unique_ids: dict[str, str] = {}

    async def send(ctx: Context) -> Outcome:
        unique_id = unique_ids.get("id") or await commands.next_unique_id(ctx.tenant_id)
        unique_ids["id"] = unique_id
        return await commands.subscription(ctx, create_command(body, subscription_id, unique_id))

    def created(outcome: Outcome) -> tuple[int, dict[str, Any]]:
        return 201, {
            "id": str(outcome.stream_id),
            "unique_id": unique_ids["id"],
            "version": outcome.version,
            "position": outcome.position,
        }

    response = await execute(request, principal, send, created)
    if response.status_code == 201:
        response.headers["Location"] = f"{request.url.path}/{subscription_id}"
    return response


@router.get("", summary="List subscriptions")
async def listing(
    principal: Caller,
    pool: Pool,
    settings: AppSettings,
    status: Annotated[list[Status] | None, Query()] = None,
    engineer_id: UUID | None = None,
    organization_id: UUID | None = None,
    contact_id: UUID | None = None,
    q: Annotated[
        str | None,
        Query(max_length=200, description="Text in name, unique ID, contact or organization"),
    ] = None,
    sort: SortParam = None,
    cursor: Cursor = None,
    limit: Limit = 50,
    min_position: MinPosition = None,
) -> dict[str, Any]:
    try:
        order = parse_sort(sort, views.SORTS, views.DEFAULT_SORT)
    except ValueError as exc:
        raise bad_query("sort", str(exc)) from None
    await fresh(pool, settings, "subscriptions", min_position)
    filters = {
        "status": [s.value for s in status] if status else None,
        "engineer_id": engineer_id,
        "organization_id": organization_id,
        "contact_id": contact_id,
        "q": q.strip() if q else None,
    }
    try:
        page = await views.list_subscriptions(
            pool, principal.tenant_id, filters, order, cursor, limit
        )
    except ValueError as exc:
        raise bad_query("cursor", str(exc)) from None
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/{subscription_id}", summary="Summary tab of one subscription")
async def summary(
    subscription_id: UUID,
    principal: Caller,
    pool: Pool,
    settings: AppSettings,
    min_position: MinPosition = None,
) -> JSONResponse:
    await fresh(pool, settings, "subscriptions", min_position)
    await fresh(pool, settings, "history", min_position)
    found = await views.summary(pool, principal.tenant_id, subscription_id)
    if found is None:
        raise Problem(404, f"subscription {subscription_id} not found", slug="not-found")
    return JSONResponse(jsonable_encoder(found), headers={"ETag": f'"{found["version"]}"'})


@router.get("/{subscription_id}/history", summary="History tab: every event, newest first")
async def history(
    subscription_id: UUID,
    principal: Caller,
    pool: Pool,
    settings: AppSettings,
    cursor: Cursor = None,
    limit: Limit = 50,
    min_position: MinPosition = None,
) -> dict[str, Any]:
    await fresh(pool, settings, "history", min_position)
    await fresh(pool, settings, "subscriptions", min_position)
    if await views.summary(pool, principal.tenant_id, subscription_id) is None:
        raise Problem(404, f"subscription {subscription_id} not found", slug="not-found")
    try:
        page = await views.history(pool, principal.tenant_id, subscription_id, cursor, limit)
    except ValueError as exc:
        raise bad_query("cursor", str(exc)) from None
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.patch(
    "/{subscription_id}", summary="Edit name, description, contact, organization, contract"
)
async def edit(
    subscription_id: UUID,
    body: SubscriptionPatch,
    request: Request,
    principal: Writer,
    commands: Commands,
) -> JSONResponse:
    async def send(ctx: Context) -> Outcome:
        command = EditSubscription(
            subscription_id=subscription_id, changes=body.given(), now=datetime.now(UTC)
        )
        return await commands.subscription(ctx, command)

    return await execute(request, principal, send)


@router.post("/{subscription_id}/status", summary="Change the status, with a reason")
async def change_status(
    subscription_id: UUID, body: StatusIn, request: Request, principal: Writer, commands: Commands
) -> JSONResponse:
    async def send(ctx: Context) -> Outcome:
        return await commands.subscription(ctx, status_command(subscription_id, body))

    return await execute(request, principal, send)


@router.post("/{subscription_id}/engineer", summary="Assign another engineer")
async def assign_engineer(
    subscription_id: UUID,
    body: EngineerAssignmentIn,
    request: Request,
    principal: Writer,
    commands: Commands,
) -> JSONResponse:
    async def send(ctx: Context) -> Outcome:
        return await commands.subscription(ctx, engineer_command(subscription_id, body))

    return await execute(request, principal, send)


# The commands of request bodies, shared with the admin pages (services/subscription/web).
def create_command(
    body: SubscriptionIn, subscription_id: UUID, unique_id: str
) -> CreateSubscription:
    return CreateSubscription(
        subscription_id=subscription_id,
        unique_id=unique_id,
        now=datetime.now(UTC),
        **body.model_dump(),
    )


def status_command(subscription_id: UUID, body: StatusIn) -> ChangeStatus:
    return ChangeStatus(
        subscription_id=subscription_id,
        status=body.status,
        reason=body.reason,
        now=datetime.now(UTC),
    )


def engineer_command(subscription_id: UUID, body: EngineerAssignmentIn) -> AssignEngineer:
    return AssignEngineer(
        subscription_id=subscription_id, engineer_id=body.engineer_id, now=datetime.now(UTC)
    )
