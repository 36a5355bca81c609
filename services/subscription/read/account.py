"""Queries of the account read model: a subscription's account (invoices, lines, balance, due
date, scheduled status changes) and a tenant's invoices for a period (list and CSV pages)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from services.subscription.read.queries import decode_cursor, encode_cursor

ACCOUNT = """
select unique_id, status, overdue, plan, price, currency, cycle, billing_day, balance, due_on
from read.accounts where tenant_id = $1 and subscription_id = $2
"""
INVOICES_OF = """
select id, number, period_start, period_end, issued_at, due_on, currency, total, lines
from read.invoices where tenant_id = $1 and subscription_id = $2
order by period_start desc, id
"""
LINES_OF = """
select kind, occurred_at, description, amount, currency
from read.account_lines where tenant_id = $1 and subscription_id = $2
order by position, seq
"""
SCHEDULED_OF = """
select id, to_status as status, reason, at, scheduled_at
from read.scheduled_statuses where tenant_id = $1 and subscription_id = $2
order by at, id
"""
# A tenant's invoices issued in [from, to), by issue moment then id (the cursor).
INVOICES = """
select id, subscription_id, unique_id, number, period_start, period_end, issued_at, due_on,
       currency, total, lines
from read.invoices
where tenant_id = $1 and issued_at >= $2 and issued_at < $3
  and ($4::timestamptz is null or (issued_at, id) > ($4::timestamptz, $5::uuid))
order by issued_at, id
limit $6
"""
EXPORT_PAGE = 2000
EXPORT_COLUMNS = (
    "Number", "Unique ID", "Period Start", "Period End", "Issued At", "Due On", "Currency",
    "Total",
)  # fmt: skip


async def account(
    pool: asyncpg.Pool, tenant_id: str, subscription_id: UUID
) -> dict[str, Any] | None:
    """The subscription's account, or None when there is no such subscription."""
    row = await pool.fetchrow(ACCOUNT, tenant_id, subscription_id)
    if row is None:
        return None
    invoices = await pool.fetch(INVOICES_OF, tenant_id, subscription_id)
    lines = await pool.fetch(LINES_OF, tenant_id, subscription_id)
    scheduled = await pool.fetch(SCHEDULED_OF, tenant_id, subscription_id)
    billing = None
    if row["currency"] is not None:
        billing = {k: row[k] for k in ("plan", "currency", "cycle", "billing_day")}
        billing["price"] = _money(row["price"])
    return {
        "subscription_id": subscription_id,
        "currency": row["currency"],
        "balance": _money(row["balance"]),
        "due_on": row["due_on"],
        "overdue": row["overdue"],
        "billing": billing,
        "invoices": [_invoice(r) for r in invoices],
        "lines": [{**dict(r), "amount": _money(r["amount"])} for r in lines],
        "scheduled_status_changes": [dict(r) for r in scheduled],
    }


async def scheduled(pool: asyncpg.Pool, tenant_id: str, subscription_id: UUID) -> list[dict]:
    """The status changes scheduled for a subscription, soonest first."""
    return [dict(r) for r in await pool.fetch(SCHEDULED_OF, tenant_id, subscription_id)]


async def invoices(
    pool: asyncpg.Pool,
    tenant_id: str,
    start: date,
    end: date,
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the invoices issued from `start` to before `end`, and the next cursor."""
    after: tuple[Any, Any] = (None, None)
    if cursor:
        moment, last_id = decode_cursor(cursor)  # ValueError: not one of ours
        after = (datetime.fromisoformat(moment), last_id)
    rows = await pool.fetch(INVOICES, tenant_id, *_range(start, end), *after, limit + 1)
    page = [_invoice(r) for r in rows[:limit]]
    if len(rows) <= limit:
        return page, None
    last = rows[limit - 1]
    return page, encode_cursor(last["issued_at"], last["id"])


async def invoice_rows(
    pool: asyncpg.Pool, tenant_id: str, start: date, end: date
) -> AsyncIterator[list[list[str]]]:
    """Every invoice issued from `start` to before `end` (UTC days), as CSV rows, a page at a
    time."""
    after: tuple[Any, Any] = (None, None)
    while True:
        rows = await pool.fetch(INVOICES, tenant_id, *_range(start, end), *after, EXPORT_PAGE)
        if not rows:
            return
        yield [
            [r["number"], r["unique_id"], r["period_start"].isoformat(),
             r["period_end"].isoformat(), r["issued_at"].isoformat(), r["due_on"].isoformat(),
             r["currency"], _money(r["total"])]
            for r in rows
        ]  # fmt: skip
        after = (rows[-1]["issued_at"], rows[-1]["id"])


def _range(start: date, end: date) -> tuple[datetime, datetime]:
    """The days from `start` to before `end` as UTC moments."""
    return datetime.combine(start, time(), UTC), datetime.combine(end, time(), UTC)


def _invoice(row: asyncpg.Record) -> dict[str, Any]:
    invoice = dict(row)
    invoice["total"] = _money(row["total"])
    invoice["lines"] = [{**line, "amount": _money(line["amount"])} for line in row["lines"]]
    return invoice


def _money(value: Any) -> str:
    """A numeric as a decimal string, at least to the cent ("30.00", "16.4525")."""
    text = format(Decimal(value), "f")
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.rstrip('0').ljust(2, '0')}"
