"""Routes of the plan catalogue, and of moving a service to another plan."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse

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
from services.subscription.api.problems import READ, READ_ONE, WRITE, WRITE_ON, Problem, problems
from services.subscription.api.schemas import Changed, Plan, PlanPage, Removed
from services.subscription.read import plans as plan_queries
from services.subscription.read.queries import parse_sort
from services.subscription.usecases.inputs import PlanChangeIn, PlanIn, PlanPatch, RetireIn

router = APIRouter(prefix="/plans", tags=["plans"])
service_plan = APIRouter(prefix="/subscriptions/{subscription_id}", tags=["services"])


@router.get("", summary="List plans", response_model=PlanPage, responses=problems(*READ))
async def listing(
    principal: Caller,
    reads: Reads,
    pool: Pool,
    q: Annotated[str | None, Query(max_length=200, description="part of the name")] = None,
    retired: bool | None = None,
    sort: SortParam = None,
    cursor: Cursor = None,
    limit: Limit = 50,
    min_position: MinPosition = None,
) -> JSONResponse:
    try:
        order = parse_sort(sort, plan_queries.SORTS, plan_queries.DEFAULT_SORT)
    except ValueError as exc:
        raise bad_query("sort", str(exc)) from None
    await fresh(reads, "plans", min_position)
    try:
        page = await plan_queries.list_plans(
            pool, principal.tenant_id, q, retired, order, cursor, limit
        )
    except ValueError as exc:
        raise bad_query("cursor", str(exc)) from None
    return rendered({"items": page.items, "next_cursor": page.next_cursor})


@router.get("/{plan_id}", summary="One plan", response_model=Plan, responses=problems(*READ_ONE))
async def one(
    plan_id: UUID, principal: Caller, reads: Reads, pool: Pool, min_position: MinPosition = None
) -> JSONResponse:
    await fresh(reads, "plans", min_position)
    plan = await plan_queries.get_plan(pool, principal.tenant_id, plan_id)
    if plan is None:
        raise Problem(404, f"plan {plan_id} not found", slug="not-found")
    return rendered(plan, plan["version"])


@router.post(
    "",
    status_code=201,
    summary="Create a plan",
    response_model=Changed,
    responses=problems(*WRITE),
)
async def create(body: PlanIn, call: WriteCall, cases: Cases) -> JSONResponse:
    result = await cases.plans.create(call, body)
    return answer(result, f"/api/v1/plans/{result.body['id']}")


@router.patch(
    "/{plan_id}",
    summary="Edit a plan",
    description="The services on the plan follow its new name, rates and QoS mode.",
    response_model=Changed,
    responses=problems(*WRITE_ON),
)
async def edit(
    plan_id: UUID, body: Annotated[PlanPatch, Body()], call: WriteCall, cases: Cases
) -> JSONResponse:
    return answer(await cases.plans.edit(call, plan_id, body))


@router.post(
    "/{plan_id}/retire",
    summary="Retire a plan",
    description="Offered to no new service (409); the services on it keep it.",
    response_model=Changed,
    responses=problems(*WRITE_ON),
)
async def retire(
    plan_id: UUID,
    call: WriteCall,
    cases: Cases,
    body: Annotated[RetireIn | None, Body()] = None,
) -> JSONResponse:
    return answer(await cases.plans.retire(call, plan_id, body))


@service_plan.post(
    "/services/{item_id}/plan",
    summary="Change a service's plan (upgrade or downgrade)",
    description=(
        "`effective: now` (the default): the service takes the new plan's rates at once "
        "(keeping its overrides) and the event records the proration by days between two "
        "catalogue plans. `next_cycle` or a date-time to come: the change is pending (shown "
        "on the service) until it falls due; another one replaces it."
    ),
    response_model=Changed,
    responses=problems(*WRITE_ON),
)
async def change_plan(
    subscription_id: UUID, item_id: UUID, body: PlanChangeIn, call: WriteCall, cases: Cases
) -> JSONResponse:
    result = await cases.plans.change_service_plan(call, subscription_id, item_id, body)
    return answer(result)


@service_plan.delete(
    "/services/{item_id}/plan",
    summary="Cancel a service's pending plan change",
    description="Without one pending: 200, nothing changed.",
    response_model=Removed,
    responses=problems(*WRITE_ON),
)
async def cancel_plan_change(
    subscription_id: UUID, item_id: UUID, call: WriteCall, cases: Cases
) -> JSONResponse:
    return answer(await cases.plans.cancel_plan_change(call, subscription_id, item_id))
