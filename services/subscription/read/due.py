"""What the scheduler finds due at a moment, in the read models: invoices to issue, overdue
subscriptions to suspend, paid ones to reactivate, scheduled status changes and plan changes.

The read models may lag the event log: what is found here is only a candidate. The decider
checks each command against the stream itself, so a stale candidate changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.subscription.domain.billing import period
from services.subscription.domain.proration import MONTHS

# Subscriptions billed on a (cycle, day) whose current period has no invoice yet; only periods
# starting on or after the day billing was first set are invoiced.
INVOICES = """
select a.tenant_id, a.subscription_id, a.unique_id, c.start
from unnest($1::text[], $2::int[], $3::date[]) as c(cycle, day, start)
join read.accounts a on a.cycle = c.cycle and a.billing_day = c.day
where a.currency is not null and a.status not in ('Cancelled', 'Completed')
  and ($4::text is null or a.tenant_id = $4)
  and a.billing_since <= c.start
  and not exists (
      select 1 from read.invoices i
      where i.tenant_id = a.tenant_id and i.subscription_id = a.subscription_id
        and i.period_start = c.start
  )
order by a.tenant_id, a.subscription_id
"""
# Unpaid past the tenant's grace days: overdue from the day after the last day of grace.
OVERDUE = """
select a.tenant_id, a.subscription_id, a.unique_id, a.due_on,
       coalesce(s.grace_days, $2::int) as grace_days
from read.accounts a left join tenants.settings s on s.tenant_id = a.tenant_id
where a.due_on is not null and a.status in ('Active', 'Inactive')
  and ($3::text is null or a.tenant_id = $3)
  and a.due_on + coalesce(s.grace_days, $2::int) + 1 <= $1::date
order by a.tenant_id, a.subscription_id
"""
PAID = """
select tenant_id, subscription_id, unique_id, overdue_position
from read.accounts
where overdue and status = 'Suspended' and balance <= 0
  and ($1::text is null or tenant_id = $1)
order by tenant_id, subscription_id
"""
SCHEDULED = """
select s.tenant_id, s.subscription_id, a.unique_id, s.id, s.to_status, s.at
from read.scheduled_statuses s
join read.accounts a on a.tenant_id = s.tenant_id and a.subscription_id = s.subscription_id
where s.at <= $1 and ($2::text is null or s.tenant_id = $2)
order by s.at, s.id
"""
PLAN_CHANGES = """
select s.tenant_id, s.subscription_id, a.unique_id, s.id, s.pending_plan, s.pending_effective_at
from read.services s
join read.accounts a on a.tenant_id = s.tenant_id and a.subscription_id = s.subscription_id
where s.pending_effective_at <= $1 and ($2::text is null or s.tenant_id = $2)
order by s.pending_effective_at, s.id
"""


@dataclass(frozen=True)
class Found:
    """One thing due: what, for which subscription, and what the command needs."""

    kind: str  # invoice, overdue, paid, scheduled_status, plan_change
    tenant_id: str
    subscription_id: UUID
    unique_id: str
    key: str  # the deterministic idempotency key of its command
    detail: str
    item_id: UUID | None = None
    period_start: date | None = None
    grace_days: int = 0


def current_periods(today: date) -> tuple[list[str], list[int], list[date]]:
    """The start of the period holding `today` for every cycle and billing day (1-28)."""
    cycles, days, starts = [], [], []
    for cycle in MONTHS:
        for day in range(1, 29):
            cycles.append(cycle)
            days.append(day)
            starts.append(period(cycle, day, today)[0])
    return cycles, days, starts


async def due(
    pool: asyncpg.Pool, now: datetime, default_grace_days: int, tenant_id: str | None = None
) -> list[Found]:
    """Everything due at `now` (for one tenant, or all), in the order the scheduler carries
    it out."""
    today = now.astimezone(UTC).date()
    found: list[Found] = []
    for r in await pool.fetch(PLAN_CHANGES, now, tenant_id):
        at = f"{r['pending_effective_at'].astimezone(UTC):%Y%m%dT%H%M%S}"
        key = f"plan-change:{r['subscription_id']}:{r['id']}:{at}"
        found.append(_found("plan_change", r, key, f"to {r['pending_plan']}", item_id=r["id"]))
    for r in await pool.fetch(SCHEDULED, now, tenant_id):
        key = f"scheduled-status:{r['id']}"
        found.append(_found("scheduled_status", r, key, f"to {r['to_status']}", item_id=r["id"]))
    for r in await pool.fetch(INVOICES, *current_periods(today), tenant_id):
        key = f"invoice:{r['subscription_id']}:{r['start']}"
        detail = f"period from {r['start']}"
        found.append(_found("invoice", r, key, detail, period_start=r["start"]))
    for r in await pool.fetch(OVERDUE, today, default_grace_days, tenant_id):
        key = f"overdue:{r['subscription_id']}:{r['due_on']}"
        detail = f"due {r['due_on']}, {r['grace_days']} grace days"
        found.append(_found("overdue", r, key, detail, grace_days=r["grace_days"]))
    for r in await pool.fetch(PAID, tenant_id):
        key = f"paid:{r['subscription_id']}:{r['overdue_position']}"
        found.append(_found("paid", r, key, "balance cleared"))
    return found


def _found(kind: str, row: asyncpg.Record, key: str, detail: str, **more: Any) -> Found:
    return Found(
        kind, row["tenant_id"], row["subscription_id"], row["unique_id"], key, detail, **more
    )
