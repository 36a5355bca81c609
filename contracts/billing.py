"""The account of a subscription and the status changes that happen on their own: invoices,
scheduled status changes, and the scheduler's commands. Events belong to the subscription's
stream.

An invoice is issued on the billing day for the coming period, one per subscription and period:
its id is derived from the two (`invoice_id`), so however often issuing runs it is one invoice.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID, uuid5

from contracts.base import Command, Event
from contracts.subscription import Status

_INVOICES = UUID("5b0c7f43-2f7e-4a53-9d0e-0d6f1d2b8a61")


def invoice_id(subscription_id: UUID, period_start: date) -> UUID:
    """The one id the invoice of a subscription's period has."""
    return uuid5(_INVOICES, f"{subscription_id}:{period_start.isoformat()}")


class InvoiceLine(Event):
    description: str
    amount: Decimal


class InvoiceIssued(Event):
    """An invoice for the billing period `period_start`..`period_end` (last day included), due
    on `due_on`; the subscription is overdue once the tenant's grace days after it have passed."""

    type: Literal["subscription.invoice_issued"] = "subscription.invoice_issued"
    invoice_id: UUID
    number: str
    period_start: date
    period_end: date
    issued_at: datetime
    due_on: date
    currency: str
    lines: list[InvoiceLine]
    total: Decimal


class StatusChangeScheduled(Event):
    """Staff asked for a status change at a moment to come; the scheduler carries it out."""

    type: Literal["subscription.status_change_scheduled"] = "subscription.status_change_scheduled"
    schedule_id: UUID
    to_status: Status
    reason: str | None = None
    at: datetime


class ScheduledStatusChangeDropped(Event):
    """A scheduled status change cancelled by staff, or dropped when due because there was
    nothing left to do (`reason` says which)."""

    type: Literal["subscription.status_change_unscheduled"] = (
        "subscription.status_change_unscheduled"
    )
    schedule_id: UUID
    reason: str | None = None


BillingEvent = InvoiceIssued | StatusChangeScheduled | ScheduledStatusChangeDropped


class IssueInvoice(Command):
    """Issue the invoice of the billing period starting on `period_start` (nothing when it was
    issued already, or when the period has not begun at `now`)."""

    subscription_id: UUID
    period_start: date
    now: datetime


class SuspendOverdue(Command):
    """Suspend the subscription (reason "overdue") if an invoice is unpaid `grace_days` after
    its due date at `now`; nothing otherwise."""

    subscription_id: UUID
    grace_days: int
    now: datetime


class ReactivatePaid(Command):
    """Give a subscription suspended for being overdue its status back once its balance is
    cleared; nothing for one suspended by hand."""

    subscription_id: UUID
    now: datetime


class ScheduleStatusChange(Command):
    subscription_id: UUID
    schedule_id: UUID
    status: Status
    reason: str | None = None
    at: datetime
    now: datetime


class CancelScheduledStatusChange(Command):
    subscription_id: UUID
    schedule_id: UUID
    now: datetime


class ApplyScheduledStatusChange(Command):
    """Carry out a scheduled status change if it is due at `now` (the scheduler's clock)."""

    subscription_id: UUID
    schedule_id: UUID
    now: datetime


BillingCommand = (
    IssueInvoice
    | SuspendOverdue
    | ReactivatePaid
    | ScheduleStatusChange
    | CancelScheduledStatusChange
    | ApplyScheduledStatusChange
)

# Why a status changed on its own (`subscription.status_changed` `cause`).
Cause = Literal["overdue", "paid", "scheduled"]
