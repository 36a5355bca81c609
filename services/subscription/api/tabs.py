"""Routes of the Details tab, billing, payments and touchpoints."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from contracts import commands as c
from services.subscription.api.auth import Caller, Writer
from services.subscription.api.commands import changed, execute
from services.subscription.api.deps import (
    AppSettings,
    Commands,
    MinPosition,
    Pool,
    subscription_visible,
)
from services.subscription.api.inner import item_created
from services.subscription.api.schemas import BillingIn, PaymentIn, RefundIn, TouchpointIn
from services.subscription.read import inner as inner_queries
from services.subscription.write.handlers import Context, Outcome

router = APIRouter(prefix="/subscriptions/{subscription_id}", tags=["subscription tabs"])


@router.get("/details", summary="Details tab: billing, service information, hardware, payments")
async def details(
    subscription_id: UUID,
    principal: Caller,
    pool: Pool,
    settings: AppSettings,
    min_position: MinPosition = None,
) -> dict[str, Any]:
    await subscription_visible(pool, settings, principal, subscription_id, min_position, "inner")
    return await inner_queries.details(pool, principal.tenant_id, subscription_id)


@router.put("/billing", summary="Set billing details")
async def set_billing(
    subscription_id: UUID, body: BillingIn, request: Request, principal: Writer, commands: Commands
) -> JSONResponse:
    async def send(ctx: Context) -> Outcome:
        command = c.SetBilling(
            subscription_id=subscription_id,
            fields=body.model_dump(mode="python"),
            now=datetime.now(UTC),
        )
        return await commands.subscription(ctx, command)

    return await execute(request, principal, send, changed)


@router.get("/payments", summary="Payment history with refunds, newest first")
async def payments(
    subscription_id: UUID,
    principal: Caller,
    pool: Pool,
    settings: AppSettings,
    min_position: MinPosition = None,
) -> dict[str, Any]:
    await subscription_visible(pool, settings, principal, subscription_id, min_position, "inner")
    return {"items": await inner_queries.payments(pool, principal.tenant_id, subscription_id)}


@router.post("/payments", status_code=201, summary="Record a payment")
async def record_payment(
    subscription_id: UUID, body: PaymentIn, request: Request, principal: Writer, commands: Commands
) -> JSONResponse:
    payment_id = uuid4()

    async def send(ctx: Context) -> Outcome:
        command = payment_command(subscription_id, payment_id, body)
        return await commands.subscription(ctx, command)

    return await execute(request, principal, send, item_created(payment_id))


@router.post("/payments/{payment_id}/refund", status_code=201, summary="Refund or void a payment")
async def refund_payment(
    subscription_id: UUID,
    payment_id: UUID,
    body: RefundIn,
    request: Request,
    principal: Writer,
    commands: Commands,
) -> JSONResponse:
    refund_id = uuid4()

    async def send(ctx: Context) -> Outcome:
        command = c.RefundPayment(
            subscription_id=subscription_id,
            payment_id=payment_id,
            refund_id=refund_id,
            amount=body.amount,
            reason=body.reason,
            now=datetime.now(UTC),
        )
        return await commands.subscription(ctx, command)

    return await execute(request, principal, send, item_created(refund_id))


@router.get("/touchpoints", summary="Touchpoints, newest first")
async def touchpoints(
    subscription_id: UUID,
    principal: Caller,
    pool: Pool,
    settings: AppSettings,
    min_position: MinPosition = None,
) -> dict[str, Any]:
    await subscription_visible(pool, settings, principal, subscription_id, min_position, "inner")
    return {"items": await inner_queries.touchpoints(pool, principal.tenant_id, subscription_id)}


@router.post("/touchpoints", status_code=201, summary="Log a call, email, visit, request or note")
async def log_touchpoint(
    subscription_id: UUID,
    body: TouchpointIn,
    request: Request,
    principal: Writer,
    commands: Commands,
) -> JSONResponse:
    touchpoint_id = uuid4()

    async def send(ctx: Context) -> Outcome:
        command = touchpoint_command(subscription_id, touchpoint_id, body)
        return await commands.subscription(ctx, command)

    return await execute(request, principal, send, item_created(touchpoint_id))


# The commands of request bodies, shared with the admin pages (services/subscription/web).
def payment_command(subscription_id: UUID, payment_id: UUID, body: PaymentIn) -> c.RecordPayment:
    return c.RecordPayment(
        subscription_id=subscription_id,
        payment_id=payment_id,
        fields=body.model_dump(mode="python"),
        now=datetime.now(UTC),
    )


def touchpoint_command(
    subscription_id: UUID, touchpoint_id: UUID, body: TouchpointIn
) -> c.LogTouchpoint:
    return c.LogTouchpoint(
        subscription_id=subscription_id,
        touchpoint_id=touchpoint_id,
        kind=body.kind,
        note=body.note,
        occurred_at=body.occurred_at,
        now=datetime.now(UTC),
    )
