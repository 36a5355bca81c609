"""Projection `account`: each subscription's account (read.accounts, read.account_lines), the
tenant's invoices (read.invoices) and the status changes staff scheduled
(read.scheduled_statuses). The scheduler finds what is due in these tables.

Balances and due dates are recomputed from the lines and invoices of the subscriptions a batch
touched, so they depend only on the events, as a rebuild sees them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from itertools import groupby, zip_longest
from operator import itemgetter
from typing import Any
from uuid import UUID

import asyncpg

from contracts import billing as bev
from contracts import inner as iev
from contracts import subscription as sev
from plumbing.eventlog import StoredEvent

from .projection import Projection, keys_arrays

CREATED = """
insert into {accounts} (tenant_id, subscription_id, unique_id, status)
values ($1, $2, $3, $4)
on conflict (tenant_id, subscription_id) do update set
    unique_id = excluded.unique_id, status = excluded.status
"""
STATUS = """
update {accounts} set status = $3, overdue = $4::bigint is not null, overdue_position = $4
where tenant_id = $1 and subscription_id = $2
"""
BILLING = """
update {accounts} set plan = $3, price = $4, currency = $5, cycle = $6, billing_day = $7,
    billing_since = coalesce(billing_since, $8)
where tenant_id = $1 and subscription_id = $2
"""
LINE = """
insert into {account_lines} (tenant_id, subscription_id, position, seq, kind, occurred_at,
    description, amount, currency, ref_id)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
on conflict do nothing
"""
# A refund is in the currency of the payment it is recorded against.
REFUND = """
insert into {account_lines} (tenant_id, subscription_id, position, seq, kind, occurred_at,
    description, amount, currency, ref_id)
select $1, $2, $3, 0, 'refund', $4, $5, $6, currency, $7
from {account_lines}
where tenant_id = $1 and subscription_id = $2 and kind = 'payment' and ref_id = $7
on conflict do nothing
"""
INVOICE = """
insert into {invoices} (tenant_id, id, subscription_id, unique_id, number, period_start,
    period_end, issued_at, due_on, currency, total, lines, position)
select $1, $2, $3, unique_id, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12
from {accounts} where tenant_id = $1 and subscription_id = $3
on conflict do nothing
"""
SCHEDULED = """
insert into {scheduled_statuses} (tenant_id, id, subscription_id, to_status, reason, at,
    scheduled_at)
values ($1, $2, $3, $4, $5, $6, $7)
on conflict do nothing
"""
UNSCHEDULED = """
delete from {scheduled_statuses} where tenant_id = $1 and subscription_id = $2 and id = $3
"""
# The balance in the billing currency, from the lines of the subscriptions a batch touched.
BALANCES = """
update {accounts} a set balance = coalesce((
    select sum(amount) from {account_lines} l
    where l.tenant_id = a.tenant_id and l.subscription_id = a.subscription_id
      and l.currency = a.currency
), 0)
from unnest($1::text[], $2::uuid[]) as touched(tenant_id, subscription_id)
where a.tenant_id = touched.tenant_id and a.subscription_id = touched.subscription_id
"""
# The due date of the oldest invoice the balance still covers: one whose newer invoices (in
# the billing currency) add up to less than the balance.
DUE_DATES = """
update {accounts} a set due_on = (
    select min(i.due_on) from (
        select due_on, sum(total) over (order by period_start desc) - total as newer
        from {invoices}
        where tenant_id = a.tenant_id and subscription_id = a.subscription_id
          and currency = a.currency
    ) i
    where i.newer < a.balance
)
from unnest($1::text[], $2::uuid[]) as touched(tenant_id, subscription_id)
where a.tenant_id = touched.tenant_id and a.subscription_id = touched.subscription_id
"""

_TYPES = (
    sev.SubscriptionCreated, sev.SubscriptionStatusChanged, sev.SubscriptionReopened,
    iev.BillingSet, iev.PaymentRecorded, iev.PaymentRefunded, iev.ServicePlanChanged,
    *bev.BillingEvent.__args__,
)  # fmt: skip
TYPES = frozenset(m.model_fields["type"].default for m in _TYPES)

Statement = tuple[str, tuple[Any, ...]]


class AccountProjection(Projection):
    name = "account"
    tables = ("accounts", "invoices", "account_lines", "scheduled_statuses")
    handles = TYPES

    async def apply(self, conn: asyncpg.Connection, events: Sequence[StoredEvent]) -> None:
        """Apply the batch's statements, each subscription's in order, then settle the touched
        balances.

        Every statement touches the rows of one subscription, so statements of different
        subscriptions commute: the batch runs in rounds (the first statement of each
        subscription, then the second, ...), and a round's statements go by SQL, one
        executemany each (a day's invoices are two statements, not two per invoice).
        """
        streams: dict[tuple[str, UUID], list[Statement]] = {}
        for event in events:
            streams.setdefault((event.tenant_id, event.stream_id), []).extend(_statements(event))
        for round_ in zip_longest(*streams.values()):
            ordered = sorted((st for st in round_ if st is not None), key=itemgetter(0))
            for sql, run in groupby(ordered, key=itemgetter(0)):
                await conn.executemany(self.sql(sql), [args for _, args in run])
        touched = keys_arrays(sorted({(e.tenant_id, e.stream_id) for e in events}))
        await conn.execute(self.sql(BALANCES), *touched)
        await conn.execute(self.sql(DUE_DATES), *touched)


def _statements(event: StoredEvent) -> list[Statement]:
    p = event.payload()
    t, sub, at = event.tenant_id, event.stream_id, event.occurred_at
    match p:
        case sev.SubscriptionCreated():
            return [(CREATED, (t, sub, p.unique_id, p.status.value))]
        case sev.SubscriptionStatusChanged():
            overdue = event.position if p.cause == "overdue" else None
            moved = (STATUS, (t, sub, p.to_status.value, overdue))
            if p.schedule_id is None:
                return [moved]
            return [moved, (UNSCHEDULED, (t, sub, p.schedule_id))]
        case sev.SubscriptionReopened():
            return [(STATUS, (t, sub, p.to_status.value, None))]
        case iev.BillingSet():
            billed = (
                p.plan,
                p.price,
                p.currency,
                p.cycle,
                p.billing_day,
                at.astimezone(UTC).date(),
            )
            return [(BILLING, (t, sub, *billed))]
        case iev.PaymentRecorded():
            text = f"Payment by {p.method}" + (f" ({p.reference})" if p.reference else "")
            line = ("payment", p.paid_at, text, -p.amount, p.currency, p.payment_id)
            return [_line(event, 0, *line)]
        case iev.PaymentRefunded():
            text = "Refund" + (f": {p.reason}" if p.reason else "")
            return [(REFUND, (t, sub, event.position, at, text, p.amount, p.payment_id))]
        case iev.ServicePlanChanged():
            return _proration(event, p)
        case bev.InvoiceIssued():
            lines = [line.model_dump(mode="json") for line in p.lines]
            invoice = (
                t, p.invoice_id, sub, p.number, p.period_start, p.period_end, p.issued_at,
                p.due_on, p.currency, p.total, lines, event.position,
            )  # fmt: skip
            text = f"Invoice {p.number}"
            line = ("invoice", p.issued_at, text, p.total, p.currency, p.invoice_id)
            return [(INVOICE, invoice), _line(event, 0, *line)]
        case bev.StatusChangeScheduled():
            row = (t, p.schedule_id, sub, p.to_status.value, p.reason, p.at, at)
            return [(SCHEDULED, row)]
        case bev.ScheduledStatusChangeDropped():
            return [(UNSCHEDULED, (t, sub, p.schedule_id))]
        case _:
            raise ValueError(f"projection account cannot apply {event.type}")


def _proration(event: StoredEvent, p: iev.ServicePlanChanged) -> list[Statement]:
    if p.proration is None:  # to or from a custom plan: nothing to credit or charge
        return []
    r = p.proration
    days = f"{r.days_left} of {r.days_in_period} days ({r.period_start} to {r.period_end})"
    credit = ("credit", p.effective_at, f"Credit: {p.from_plan}, {days}", -r.credit, r.currency)
    charge = ("charge", p.effective_at, f"Charge: {p.plan}, {days}", r.charge, r.currency)
    return [
        _line(event, 0, *credit, p.service_id),
        _line(event, 1, *charge, p.service_id),
    ]


def _line(event: StoredEvent, seq: int, *values: Any) -> Statement:
    return LINE, (event.tenant_id, event.stream_id, event.position, seq, *values)
