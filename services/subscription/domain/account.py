"""Billing details, payments with their refunds, and touchpoints of a subscription."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, assert_never
from uuid import UUID

from contracts import inner as ev
from contracts.base import Event
from contracts.commands import (
    AccountCommand,
    LogTouchpoint,
    RecordPayment,
    RefundPayment,
    SetBilling,
)
from contracts.values import check_moment, check_text, parse_currency, parse_money
from services.subscription.domain.errors import AlreadyExists, Invalid, NotFound
from services.subscription.domain.fields import Fields

BILLING_FIELDS = set(ev.BillingSet.model_fields) - {"type"}
PAYMENT_FIELDS = {"amount", "currency", "method", "reference", "paid_at"}
CYCLES = ("monthly", "quarterly", "semiannual", "annual")
KINDS = ("call", "email", "visit", "support_request", "note")
# Clocks differ: a moment a little ahead of ours is accepted, a day ahead is a typo.
FUTURE_SLACK = timedelta(days=1)


@dataclass(frozen=True)
class Payment:
    amount: Decimal
    currency: str
    refunded: Decimal = Decimal(0)


@dataclass(frozen=True)
class Account:
    billing: ev.BillingSet | None = None
    payments: Mapping[UUID, Payment] = field(default_factory=dict)
    refunds: frozenset[UUID] = frozenset()
    touchpoints: frozenset[UUID] = frozenset()


def decide(command: AccountCommand, account: Account) -> list[Event]:
    """Events that carry out a billing, payment or touchpoint command."""
    match command:
        case SetBilling():
            billing = _billing(command.fields)
            return [] if billing == account.billing else [billing]
        case RecordPayment():
            if command.payment_id in account.payments:
                raise AlreadyExists(f"payment {command.payment_id} already exists")
            return [_payment(command)]
        case RefundPayment():
            payment = account.payments.get(command.payment_id)
            if payment is None:
                raise NotFound(f"payment {command.payment_id} not found")
            if command.refund_id in account.refunds:
                raise AlreadyExists(f"refund {command.refund_id} already exists")
            amount = _money(command.amount, "/amount", positive=True)
            left = payment.amount - payment.refunded
            if amount > left:
                raise Invalid(
                    f"amount {amount} is more than the {left} {payment.currency} left to refund",
                    "/amount",
                )
            return [
                ev.PaymentRefunded(
                    payment_id=command.payment_id,
                    refund_id=command.refund_id,
                    amount=amount,
                    reason=_reason(command.reason),
                )
            ]
        case LogTouchpoint():
            if command.touchpoint_id in account.touchpoints:
                raise AlreadyExists(f"touchpoint {command.touchpoint_id} already exists")
            return [_touchpoint(command)]
        case _:
            assert_never(command)


def evolve(account: Account, event: Event) -> Account:
    """Account after one of its events."""
    match event:
        case ev.BillingSet():
            return replace(account, billing=event)
        case ev.PaymentRecorded():
            payment = Payment(event.amount, event.currency)
            return replace(account, payments={**account.payments, event.payment_id: payment})
        case ev.PaymentRefunded():
            old = account.payments[event.payment_id]
            new = replace(old, refunded=old.refunded + event.amount)
            payments = {**account.payments, event.payment_id: new}
            return replace(account, payments=payments, refunds=account.refunds | {event.refund_id})
        case ev.TouchpointLogged():
            return replace(account, touchpoints=account.touchpoints | {event.touchpoint_id})
        case _:
            return account


def _billing(values: Mapping[str, Any]) -> ev.BillingSet:
    f = Fields(values, BILLING_FIELDS)
    return ev.BillingSet(
        plan=f.text("plan", required=True, max_length=100),
        price=_money(values.get("price"), "/price"),
        currency=f.parsed("currency", parse_currency, required=True),
        cycle=f.choice("cycle", CYCLES),
        billing_day=f.whole("billing_day", required=True, low=1, high=28),
        payment_method=f.text("payment_method", max_length=50),
        billing_address=f.text("billing_address", max_length=500, multiline=True),
    )


def _payment(command: RecordPayment) -> ev.PaymentRecorded:
    f = Fields(command.fields, PAYMENT_FIELDS)
    paid_at = f.moment("paid_at", required=True)
    assert paid_at is not None
    _not_ahead(paid_at, command.now, "/paid_at")
    return ev.PaymentRecorded(
        payment_id=command.payment_id,
        amount=_money(command.fields.get("amount"), "/amount", positive=True),
        currency=f.parsed("currency", parse_currency, required=True),
        method=f.text("method", required=True, max_length=50),
        reference=f.text("reference", max_length=100),
        paid_at=paid_at,
    )


def _touchpoint(command: LogTouchpoint) -> ev.TouchpointLogged:
    f = Fields({"kind": command.kind, "note": command.note}, {"kind", "note"})
    occurred_at = command.occurred_at or command.now
    try:
        check_moment(occurred_at)
    except ValueError as exc:
        raise Invalid(f"occurred_at {exc}", "/occurred_at") from None
    _not_ahead(occurred_at, command.now, "/occurred_at")
    note = f.text("note", required=True, max_length=5000, multiline=True)
    return ev.TouchpointLogged(
        touchpoint_id=command.touchpoint_id,
        kind=f.choice("kind", KINDS),
        note=note,
        occurred_at=occurred_at,
    )


def _money(raw: Any, pointer: str, *, positive: bool = False) -> Decimal:
    if raw is None:
        raise Invalid(f"{pointer[1:]} is required", pointer)
    try:
        return parse_money(raw, positive=positive)
    except ValueError as exc:
        raise Invalid(str(exc), pointer) from None


def _not_ahead(moment: datetime, now: datetime, pointer: str) -> None:
    if moment > now + FUTURE_SLACK:
        raise Invalid(f"{pointer[1:]} is in the future", pointer)


def _reason(reason: str | None) -> str | None:
    if reason is None:
        return None
    cleaned = reason.strip()
    if len(cleaned) > 500:
        raise Invalid("reason must be at most 500 characters", "/reason")
    try:
        return check_text(cleaned, multiline=True) or None
    except ValueError as exc:
        raise Invalid(f"reason {exc}", "/reason") from None
