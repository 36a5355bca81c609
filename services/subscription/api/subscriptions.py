"""Routes of subscriptions: create, list, summary, edit, status, reopen, engineer, history."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from contracts.subscription import Status
from services.subscription.api.auth import Caller
from services.subscription.api.calls import WriteCall, answer
from services.subscription.api.deps import (
    Cases,
    Cursor,
    Limit,
    MinPosition,
    OnPlan,
    Overdue,
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
from services.subscription.api.schemas import (
    Changed,
    HistoryPage,
    SubscriptionCreated,
    SubscriptionPage,
    Summary,
)
from services.subscription.read import subscriptions as views
from services.subscription.usecases.exports import selection
from services.subscription.usecases.inputs import (
    EngineerAssignmentIn,
    ReopenIn,
    StatusIn,
    SubscriptionIn,
    SubscriptionPatch,
)

router = APIRouter(prefix="/subscriptions", tags=["subscriptions"])


@router.post(
    "",
    status_code=201,
    summary="Create a subscription",
    response_model=SubscriptionCreated,
    responses=problems(*WRITE),
)
async def create(
    body: SubscriptionIn, request: Request, call: WriteCall, cases: Cases
) -> JSONResponse:
    result = await cases.subscriptions.create(call, body)
    return answer(result, location=f"{request.scope['path']}/{result.body['id']}")


@router.get(
    "", summary="List subscriptions", response_model=SubscriptionPage, responses=problems(*READ)
)
async def listing(
    principal: Caller,
    reads: Reads,
    pool: Pool,
    status: Annotated[list[Status] | None, Query()] = None,
    engineer_id: UUID | None = None,
    organization_id: UUID | None = None,
    contact_id: UUID | None = None,
    q: Annotated[
        str | None,
        Query(max_length=200, description="Text in name, unique ID, contact or organization"),
    ] = None,
    sort: SortParam = None,
    overdue: Overdue = None,
    plan_id: OnPlan = None,
    cursor: Cursor = None,
    limit: Limit = 50,
    min_position: MinPosition = None,
) -> JSONResponse:
    try:
        selected = selection(
            status, engineer_id, organization_id, contact_id, q, sort, overdue, plan_id
        )
    except ValueError as exc:
        raise bad_query("sort", str(exc)) from None
    await fresh(reads, "subscriptions", min_position)
    if overdue is not None:
        await fresh(reads, "account", min_position)
    if plan_id is not None:
        await fresh(reads, "inner", min_position)
    try:
        page = await views.list_subscriptions(
            pool, principal.tenant_id, selected.filters, selected.sort, cursor, limit
        )
    except ValueError as exc:
        raise bad_query("cursor", str(exc)) from None
    return rendered({"items": page.items, "next_cursor": page.next_cursor})


@router.get(
    "/{subscription_id}",
    summary="Summary tab of one subscription",
    response_model=Summary,
    responses=problems(*READ_ONE),
)
async def summary(
    subscription_id: UUID,
    principal: Caller,
    reads: Reads,
    pool: Pool,
    min_position: MinPosition = None,
) -> JSONResponse:
    await fresh(reads, "subscriptions", min_position)
    await fresh(reads, "history", min_position)
    found = await views.summary(pool, principal.tenant_id, subscription_id)
    if found is None:
        raise Problem(404, f"subscription {subscription_id} not found", slug="not-found")
    return rendered(found, found["version"])


@router.get(
    "/{subscription_id}/history",
    summary="History tab: every event, newest first",
    response_model=HistoryPage,
    responses=problems(*READ_ONE),
)
async def history(
    subscription_id: UUID,
    principal: Caller,
    reads: Reads,
    pool: Pool,
    cursor: Cursor = None,
    limit: Limit = 50,
    min_position: MinPosition = None,
) -> JSONResponse:
    await fresh(reads, "history", min_position)
    await fresh(reads, "subscriptions", min_position)
    if await views.summary(pool, principal.tenant_id, subscription_id) is None:
        raise Problem(404, f"subscription {subscription_id} not found", slug="not-found")
    try:
        page = await views.history(pool, principal.tenant_id, subscription_id, cursor, limit)
    except ValueError as exc:
        raise bad_query("cursor", str(exc)) from None
    return rendered({"items": page.items, "next_cursor": page.next_cursor})


@router.patch(
    "/{subscription_id}",
    summary="Edit name, description, contact, organization, contract",
    response_model=Changed,
    responses=problems(*WRITE_ON),
)
async def edit(
    subscription_id: UUID, body: SubscriptionPatch, call: WriteCall, cases: Cases
) -> JSONResponse:
    return answer(await cases.subscriptions.edit(call, subscription_id, body))


@router.post(
    "/{subscription_id}/status",
    summary="Change the status, with a reason",
    response_model=Changed,
    responses=problems(*WRITE_ON),
)
async def change_status(
    subscription_id: UUID, body: StatusIn, call: WriteCall, cases: Cases
) -> JSONResponse:
    return answer(await cases.subscriptions.change_status(call, subscription_id, body))


@router.post(
    "/{subscription_id}/reopen",
    summary="Reopen a Cancelled or Completed subscription to Inactive, with a reason",
    description=(
        "Its services' addresses and PPPoE logins and its hotspot logins are reserved again; "
        "if another subscription holds one now, the reopen is refused (409) naming it. "
        "A subscription that is not closed answers 409."
    ),
    response_model=Changed,
    responses=problems(*WRITE_ON),
)
async def reopen(
    subscription_id: UUID, body: ReopenIn, call: WriteCall, cases: Cases
) -> JSONResponse:
    return answer(await cases.subscriptions.reopen(call, subscription_id, body))


@router.post(
    "/{subscription_id}/engineer",
    summary="Assign another engineer",
    response_model=Changed,
    responses=problems(*WRITE_ON),
)
async def assign_engineer(
    subscription_id: UUID, body: EngineerAssignmentIn, call: WriteCall, cases: Cases
) -> JSONResponse:
    return answer(await cases.subscriptions.assign_engineer(call, subscription_id, body))
