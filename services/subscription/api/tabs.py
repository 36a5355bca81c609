"""Routes of the Details tab, billing, payments and touchpoints."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
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
from services.subscription.api.schemas import Changed, Details, Payments, Touchpoints
from services.subscription.read import inner as inner_queries
from services.subscription.usecases.inputs import BillingIn, PaymentIn, RefundIn, TouchpointIn

router = APIRouter(prefix="/subscriptions/{subscription_id}", tags=["subscription tabs"])


@router.get(
    "/details",
    summary="Details tab: billing, service information, hardware, payments",
    response_model=Details,
    responses=problems(*READ_ONE),
)
async def details(
    subscription_id: UUID,
    principal: Caller,
    reads: Reads,
    pool: Pool,
    min_position: MinPosition = None,
) -> JSONResponse:
    await subscription_visible(reads, principal, subscription_id, min_position, "inner")
    return rendered(await inner_queries.details(pool, principal.tenant_id, subscription_id))


@router.put(
    "/billing",
    summary="Set billing details",
    response_model=Changed,
    responses=problems(*WRITE_ON),
)
async def set_billing(
    subscription_id: UUID, body: BillingIn, call: WriteCall, cases: Cases
) -> JSONResponse:
    return answer(await cases.account.set_billing(call, subscription_id, body))


@router.get(
    "/payments",
    summary="Payment history with refunds, newest first",
    response_model=Payments,
    responses=problems(*READ_ONE),
)
async def payments(
    subscription_id: UUID,
    principal: Caller,
    reads: Reads,
    pool: Pool,
    min_position: MinPosition = None,
) -> JSONResponse:
    await subscription_visible(reads, principal, subscription_id, min_position, "inner")
    return rendered(
        {"items": await inner_queries.payments(pool, principal.tenant_id, subscription_id)}
    )


@router.post(
    "/payments",
    status_code=201,
    summary="Record a payment",
    response_model=Changed,
    responses=problems(*WRITE_ON),
)
async def record_payment(
    subscription_id: UUID, body: PaymentIn, call: WriteCall, cases: Cases
) -> JSONResponse:
    return answer(await cases.account.record_payment(call, subscription_id, body))


@router.post(
    "/payments/{payment_id}/refund",
    status_code=201,
    summary="Refund or void a payment",
    response_model=Changed,
    responses=problems(*WRITE_ON),
)
async def refund_payment(
    subscription_id: UUID, payment_id: UUID, body: RefundIn, call: WriteCall, cases: Cases
) -> JSONResponse:
    result = await cases.account.refund_payment(call, subscription_id, payment_id, body)
    return answer(result)


@router.get(
    "/touchpoints",
    summary="Touchpoints, newest first",
    response_model=Touchpoints,
    responses=problems(*READ_ONE),
)
async def touchpoints(
    subscription_id: UUID,
    principal: Caller,
    reads: Reads,
    pool: Pool,
    min_position: MinPosition = None,
) -> JSONResponse:
    await subscription_visible(reads, principal, subscription_id, min_position, "inner")
    return rendered(
        {"items": await inner_queries.touchpoints(pool, principal.tenant_id, subscription_id)}
    )


@router.post(
    "/touchpoints",
    status_code=201,
    summary="Log a call, email, visit, request or note",
    response_model=Changed,
    responses=problems(*WRITE_ON),
)
async def log_touchpoint(
    subscription_id: UUID, body: TouchpointIn, call: WriteCall, cases: Cases
) -> JSONResponse:
    return answer(await cases.account.log_touchpoint(call, subscription_id, body))
