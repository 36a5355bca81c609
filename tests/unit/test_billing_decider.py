"""The account decider: invoices once per period, overdue suspension past the grace days,
reactivation once paid (never of a subscription suspended by hand), scheduled status changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest

from contracts import billing as ev
from contracts import inner as inner_ev
from contracts import subscription as sev
from contracts.commands import ChangeStatus, RecordPayment
from contracts.subscription import Status
from services.subscription.domain import billing, subscription
from services.subscription.domain.billing import period
from services.subscription.domain.errors import Closed, Invalid, NotFound

from .scenario import Decider

SUB = uuid4()
given = Decider.of(subscription).given
DIRECTORY: dict = {}

CREATED = sev.SubscriptionCreated(
    unique_id="SUB-000042", name="Home", contact_id=uuid4(), engineer_id=uuid4(),
    status=Status.ACTIVE,
)  # fmt: skip
BILLING = inner_ev.BillingSet(
    plan="Home 30", price=Decimal("30.005"), currency="USD", cycle="monthly", billing_day=5
)
JAN = date(2027, 1, 5)


def at(day: date, hour: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def when(command: object, *events: object):  # type: ignore[no-untyped-def]
    return given(CREATED, BILLING, *events).when(command, directory=DIRECTORY)  # type: ignore[arg-type]


def issue(day: date = JAN, now: datetime | None = None) -> ev.IssueInvoice:
    return ev.IssueInvoice(subscription_id=SUB, period_start=day, now=now or at(day))


def invoice(day: date = JAN) -> ev.InvoiceIssued:
    [issued] = when(issue(day))._decide()
    assert isinstance(issued, ev.InvoiceIssued)
    return issued


def test_the_invoice_of_a_period_is_issued_once_with_a_total_rounded_half_up() -> None:
    issued = invoice()
    assert issued.invoice_id == ev.invoice_id(SUB, JAN)
    assert (issued.number, issued.period_end, issued.due_on) == (
        "SUB-000042-20270105", date(2027, 2, 4), JAN,
    )  # fmt: skip
    assert issued.total == Decimal("30.01") and issued.lines[0].amount == Decimal("30.01")
    when(issue(), issued).then()
    when(issue(JAN, at(JAN) - timedelta(hours=1))).then()  # the period has not begun


def test_a_day_that_starts_no_period_is_refused() -> None:
    when(issue(date(2027, 1, 6))).then_raises(Invalid, pointer="/period_start")


@pytest.mark.parametrize(
    ("cycle", "day", "expected"),
    [
        ("monthly", date(2027, 1, 4), (date(2026, 12, 5), date(2027, 1, 4))),
        ("quarterly", date(2027, 3, 1), (date(2027, 1, 5), date(2027, 4, 4))),
        ("semiannual", date(2027, 1, 1), (date(2026, 7, 5), date(2027, 1, 4))),
        ("annual", date(2027, 6, 1), (date(2027, 1, 5), date(2028, 1, 4))),
    ],
)
def test_periods_start_on_the_billing_day(cycle: str, day: date, expected: tuple) -> None:
    assert period(cycle, 5, day) == expected


def suspend(now: datetime, grace: int = 7) -> ev.SuspendOverdue:
    return ev.SuspendOverdue(subscription_id=SUB, grace_days=grace, now=now)


OVERDUE = sev.SubscriptionStatusChanged(
    from_status=Status.ACTIVE, to_status=Status.SUSPENDED, reason="overdue", cause="overdue"
)


def paid(amount: str) -> inner_ev.PaymentRecorded:
    return inner_ev.PaymentRecorded(
        payment_id=uuid4(), amount=Decimal(amount), currency="USD", method="cash",
        paid_at=at(JAN),
    )  # fmt: skip


def test_an_invoice_unpaid_past_the_grace_days_suspends_and_a_partial_payment_does_not_help() -> (
    None
):
    issued = invoice()
    when(suspend(at(JAN + timedelta(days=7), 23)), issued).then()  # the last day of grace
    when(suspend(at(JAN + timedelta(days=8))), issued).then(OVERDUE)
    when(suspend(at(JAN + timedelta(days=8))), issued, paid("10.00")).then(OVERDUE)
    when(suspend(at(JAN + timedelta(days=8))), issued, paid("30.01")).then()


def test_payments_settle_the_oldest_invoice_first() -> None:
    feb = invoice(date(2027, 2, 5))
    # January paid, February (due 5 Feb) still open: overdue from 13 Feb, not earlier.
    events = (invoice(), paid("30.01"), feb)
    when(suspend(at(date(2027, 2, 12))), *events).then()
    when(suspend(at(date(2027, 2, 13))), *events).then(OVERDUE)


def reactivate() -> ev.ReactivatePaid:
    return ev.ReactivatePaid(subscription_id=SUB, now=at(date(2027, 1, 20)))


def test_a_payment_clearing_the_balance_reactivates_an_overdue_suspension_only() -> None:
    issued = invoice()
    back = sev.SubscriptionStatusChanged(
        from_status=Status.SUSPENDED, to_status=Status.ACTIVE, reason="paid", cause="paid"
    )
    when(reactivate(), issued, OVERDUE, paid("30.00")).then()  # a cent short
    when(reactivate(), issued, OVERDUE, paid("30.01")).then(back)
    by_hand = sev.SubscriptionStatusChanged(
        from_status=Status.ACTIVE, to_status=Status.SUSPENDED, reason="overdue"
    )
    when(reactivate(), issued, by_hand, paid("30.01")).then()
    # Moved by hand after the overdue suspension: the scheduler leaves it alone.
    again = sev.SubscriptionStatusChanged(from_status=Status.SUSPENDED, to_status=Status.INACTIVE)
    hand = sev.SubscriptionStatusChanged(from_status=Status.INACTIVE, to_status=Status.SUSPENDED)
    when(reactivate(), issued, OVERDUE, again, hand, paid("30.01")).then()


def test_a_proration_counts_in_the_balance() -> None:
    issued = invoice()
    proration = inner_ev.Proration(
        currency="USD", cycle="monthly", period_start=date(2027, 1, 1),
        period_end=date(2027, 1, 31), days_in_period=31, days_left=17,
        old_price=Decimal(30), new_price=Decimal(50), credit=Decimal("16.45"),
        charge=Decimal("27.42"), net=Decimal("10.97"),
    )  # fmt: skip
    changed = inner_ev.ServicePlanChanged(
        service_id=uuid4(), from_plan_id=uuid4(), from_plan="Home 30", to_plan_id=uuid4(),
        plan="Home 50", download_max_mbps=50, upload_max_mbps=20, effective_at=at(JAN),
        proration=proration,
    )  # fmt: skip
    ledger = billing.Ledger()
    for event in (issued, changed, paid("30.01")):
        ledger = billing.evolve(ledger, event)
    assert ledger.balance("USD") == Decimal("10.97")


SCHEDULE = uuid4()
LATER = at(date(2027, 3, 1))


def schedule(**changes: object) -> ev.ScheduleStatusChange:
    values = {"subscription_id": SUB, "schedule_id": SCHEDULE, "status": Status.CANCELLED,
              "reason": "end of contract", "at": LATER, "now": at(JAN), **changes}  # fmt: skip
    return ev.ScheduleStatusChange(**values)  # type: ignore[arg-type]


SCHEDULED = ev.StatusChangeScheduled(
    schedule_id=SCHEDULE, to_status=Status.CANCELLED, reason="end of contract", at=LATER
)


def apply(now: datetime) -> ev.ApplyScheduledStatusChange:
    return ev.ApplyScheduledStatusChange(subscription_id=SUB, schedule_id=SCHEDULE, now=now)


def test_a_scheduled_status_change_takes_effect_on_its_date_once() -> None:
    when(schedule()).then(SCHEDULED)
    when(schedule(at=at(JAN))).then_raises(Invalid, pointer="/at")
    when(apply(LATER - timedelta(seconds=1)), SCHEDULED).then()
    cancelled = sev.SubscriptionStatusChanged(
        from_status=Status.ACTIVE, to_status=Status.CANCELLED, reason="end of contract",
        cause="scheduled", schedule_id=SCHEDULE,
    )  # fmt: skip
    state = when(apply(LATER), SCHEDULED).then(cancelled)
    assert state.schedules == {}
    when(apply(LATER), SCHEDULED, cancelled).then()


def test_a_scheduled_change_is_cancelled_or_dropped_when_nothing_is_left_to_do() -> None:
    cancel = ev.CancelScheduledStatusChange(subscription_id=SUB, schedule_id=SCHEDULE, now=at(JAN))
    dropped = ev.ScheduledStatusChangeDropped(schedule_id=SCHEDULE, reason="cancelled")
    when(cancel, SCHEDULED).then(dropped)
    when(cancel).then_raises(NotFound)
    closed = sev.SubscriptionStatusChanged(from_status=Status.ACTIVE, to_status=Status.CANCELLED)
    gone = ev.ScheduledStatusChangeDropped(schedule_id=SCHEDULE, reason="already Cancelled")
    when(apply(LATER), SCHEDULED, closed).then(gone)
    when(schedule(), closed).then_raises(Closed)


def test_a_manual_change_and_a_payment_still_work_beside_the_account() -> None:
    change = ChangeStatus(subscription_id=SUB, status=Status.SUSPENDED, now=at(JAN))
    when(change).then(
        sev.SubscriptionStatusChanged(from_status=Status.ACTIVE, to_status=Status.SUSPENDED)
    )
    pay = RecordPayment(
        subscription_id=SUB, payment_id=uuid4(), now=at(JAN),
        fields={"amount": "5", "currency": "USD", "method": "cash", "paid_at": at(JAN)},
    )  # fmt: skip
    assert len(when(pay)._decide()) == 1
