"""The account of a subscription: invoices issued for billing periods, what is owed, and the
status changes it makes on its own (suspended when overdue, reactivated once paid).

Money is exact: Decimal sums of the amounts the events carry. An invoice's total is the billing
price rounded half-up to the currency's minor unit. The balance (what the customer owes; negative
when in credit) of a currency is its invoices, proration charges and refunds less its payments
and proration credits. Payments settle the oldest invoices first, so the invoice that makes a
subscription overdue is the oldest one the balance still covers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from uuid import UUID

from contracts import billing as ev
from contracts import inner as inner_ev
from contracts.base import Event
from contracts.subscription import Status, SubscriptionStatusChanged
from contracts.values import EARLIEST, LATEST, check_moment
from services.subscription.domain.errors import Conflict, Invalid
from services.subscription.domain.proration import MONTHS, minor

MAX_GRACE_DAYS = 365
OVERDUE = "overdue"
PAID = "paid"


@dataclass(frozen=True)
class Invoice:
    period_start: date
    due_on: date
    currency: str
    total: Decimal


@dataclass(frozen=True)
class Ledger:
    """What the decider needs of the account: invoices by period, balances, the status an
    overdue suspension interrupted."""

    invoices: tuple[Invoice, ...] = ()
    owed: Mapping[str, Decimal] = field(default_factory=dict)
    payment_currency: Mapping[UUID, str] = field(default_factory=dict)
    overdue_from: Status | None = None

    def balance(self, currency: str) -> Decimal:
        """What is owed in `currency` (negative: in credit)."""
        return self.owed.get(currency, Decimal(0))

    def oldest_open(self, currency: str) -> Invoice | None:
        """The oldest invoice the balance still covers (payments settle the oldest first)."""
        left, oldest = self.balance(currency), None
        for invoice in reversed(self.invoices):
            if left <= 0:
                break
            if invoice.currency == currency:
                oldest, left = invoice, left - invoice.total
        return oldest


def period(cycle: str, billing_day: int, day: date) -> tuple[date, date]:
    """First and last day of the billing period holding `day`: periods start on the billing day
    of the cycle's months (monthly: every month; quarterly: January, April, July, October;
    semiannual: January, July; annual: January)."""
    months = MONTHS[cycle]
    start = date(day.year, (day.month - 1) // months * months + 1, billing_day)
    if start > day:
        start = _months_later(start, -months)
    return start, _months_later(start, months) - timedelta(days=1)


def issue(
    command: ev.IssueInvoice,
    unique_id: str,
    billing: inner_ev.BillingSet | None,
    ledger: Ledger,
) -> list[Event]:
    """The invoice of the period starting on `period_start`, once."""
    if billing is None:
        raise Conflict("the subscription has no billing details to invoice")
    if not EARLIEST.date() < command.period_start < LATEST.date() - timedelta(days=366):
        raise Invalid("period_start is out of range", "/period_start")
    start, end = period(billing.cycle, billing.billing_day, command.period_start)
    if start != command.period_start:
        raise Invalid(
            f"{command.period_start} starts no {billing.cycle} period billed on day "
            f"{billing.billing_day}",
            "/period_start",
        )
    today = _day(command.now)
    if start > today or any(i.period_start == start for i in ledger.invoices):
        return []
    total = minor(Fraction(billing.price), billing.currency)
    line = ev.InvoiceLine(description=f"{billing.plan}, {start} to {end}", amount=total)
    return [
        ev.InvoiceIssued(
            invoice_id=ev.invoice_id(command.subscription_id, start),
            number=f"{unique_id}-{start:%Y%m%d}",
            period_start=start,
            period_end=end,
            issued_at=command.now,
            due_on=start,
            currency=billing.currency,
            lines=[line],
            total=total,
        )
    ]


def overdue_at(ledger: Ledger, currency: str, grace_days: int) -> date | None:
    """The first day the subscription counts as overdue: the day after the grace days that
    follow the due date of its oldest open invoice (None: nothing is owed on an invoice)."""
    oldest = ledger.oldest_open(currency)
    if oldest is None:
        return None
    return oldest.due_on + timedelta(days=grace_days + 1)


def suspend_overdue(
    command: ev.SuspendOverdue, status: Status, currency: str | None, ledger: Ledger
) -> list[Event]:
    """Suspended with reason "overdue" if an invoice is unpaid past the grace days."""
    if not 0 <= command.grace_days <= MAX_GRACE_DAYS:
        raise Invalid(f"grace_days must be 0 to {MAX_GRACE_DAYS}", "/grace_days")
    if status not in (Status.ACTIVE, Status.INACTIVE) or currency is None:
        return []
    first = overdue_at(ledger, currency, command.grace_days)
    if first is None or _day(command.now) < first:
        return []
    changed = SubscriptionStatusChanged(
        from_status=status, to_status=Status.SUSPENDED, reason=OVERDUE, cause=OVERDUE
    )
    return [changed]


def reactivate_paid(status: Status, currency: str | None, ledger: Ledger) -> list[Event]:
    """The status an overdue suspension interrupted, back once nothing is owed; a subscription
    suspended by hand (or moved since) is left alone."""
    if status != Status.SUSPENDED or ledger.overdue_from is None or currency is None:
        return []
    if ledger.balance(currency) > 0:
        return []
    back = SubscriptionStatusChanged(
        from_status=status, to_status=ledger.overdue_from, reason=PAID, cause=PAID
    )
    return [back]


def evolve(ledger: Ledger, event: Event) -> Ledger:
    """Ledger after an event that moves money or status."""
    match event:
        case ev.InvoiceIssued():
            invoice = Invoice(event.period_start, event.due_on, event.currency, event.total)
            invoices = (*ledger.invoices, invoice)
            return _owe(replace(ledger, invoices=invoices), event.currency, event.total)
        case inner_ev.ServicePlanChanged() if event.proration is not None:
            return _owe(ledger, event.proration.currency, event.proration.net)
        case inner_ev.PaymentRecorded():
            currencies = {**ledger.payment_currency, event.payment_id: event.currency}
            paid = replace(ledger, payment_currency=currencies)
            return _owe(paid, event.currency, -event.amount)
        case inner_ev.PaymentRefunded():
            return _owe(ledger, ledger.payment_currency[event.payment_id], event.amount)
        case SubscriptionStatusChanged():
            before = event.from_status if event.cause == OVERDUE else None
            return replace(ledger, overdue_from=before)
        case _:
            return ledger


def _owe(ledger: Ledger, currency: str, amount: Decimal) -> Ledger:
    return replace(ledger, owed={**ledger.owed, currency: ledger.balance(currency) + amount})


def _day(moment: datetime) -> date:
    """The UTC day of a command's clock."""
    try:
        return check_moment(moment).astimezone(UTC).date()
    except ValueError as exc:
        raise Invalid(f"now {exc}", "/now") from None


def _months_later(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, day.day)
