"""Queries of the inner page's tabs: services, hotspots, devices, details, payments, touchpoints."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from services.subscription.read import account as account_queries

SERVICES = """
select id, plan, download_max_mbps, upload_max_mbps, download_min_mbps, upload_min_mbps, qos_mode,
       ipv4, ipv6, pppoe_username, mac, parent_node, installation_address, status,
       plan_id, overrides, pending_plan_id, pending_plan, pending_effective_at,
       created_at, updated_at
from read.services where tenant_id = $1 and subscription_id = $2
order by created_at, id
"""
HOTSPOTS = """
select id, login, profile, time_limit_minutes, data_limit_mb, expires_at, status,
       created_at, updated_at
from read.hotspots where tenant_id = $1 and subscription_id = $2
order by created_at, id
"""
DEVICES = """
select id, name, type, vendor, model, serial, mac, ip, parent_node, service_id,
       created_at, updated_at
from read.devices where tenant_id = $1 and subscription_id = $2
order by created_at, id
"""
BILLING = """
select plan, price, currency, cycle, billing_day, payment_method, billing_address, updated_at
from read.billing where tenant_id = $1 and subscription_id = $2
"""
PAYMENTS = """
select p.id, p.amount, p.currency, p.method, p.reference, p.paid_at, p.refunded,
       p.amount - p.refunded as net, p.recorded_by, p.recorded_at,
       coalesce(jsonb_agg(jsonb_build_object(
           'id', r.id, 'amount', r.amount::text, 'reason', r.reason,
           'recorded_by', r.recorded_by, 'recorded_at', r.recorded_at
       ) order by r.recorded_at, r.id) filter (where r.id is not null), '[]'::jsonb) as refunds
from read.payments p
left join read.refunds r on r.tenant_id = p.tenant_id and r.payment_id = p.id
where p.tenant_id = $1 and p.subscription_id = $2
group by p.tenant_id, p.id
order by p.paid_at desc, p.id
"""
TOUCHPOINTS = """
select id, kind, note, occurred_at, actor from read.touchpoints
where tenant_id = $1 and subscription_id = $2
order by occurred_at desc, id
limit $3
"""
COUNTS = """
select (select count(*) from read.services where tenant_id = $1 and subscription_id = $2),
       (select count(*) from read.hotspots where tenant_id = $1 and subscription_id = $2),
       (select count(*) from read.devices where tenant_id = $1 and subscription_id = $2)
"""

ACCOUNT_COUNTS = """
select (select count(*) from read.touchpoints where tenant_id = $1 and subscription_id = $2),
       (select count(*) from read.payments where tenant_id = $1 and subscription_id = $2)
"""


async def _rows(pool: asyncpg.Pool, sql: str, *args: Any) -> list[dict[str, Any]]:
    return [dict(row) for row in await pool.fetch(sql, *args)]


async def services(
    pool: asyncpg.Pool, tenant_id: str, subscription_id: UUID
) -> list[dict[str, Any]]:
    """The Services tab, each service with the plan change pending for it (or null)."""
    rows = await _rows(pool, SERVICES, tenant_id, subscription_id)
    for row in rows:
        plan_id, plan, at = (row.pop(f"pending_{n}") for n in ("plan_id", "plan", "effective_at"))
        row["pending_plan_change"] = (
            None if plan_id is None else {"plan_id": plan_id, "plan": plan, "effective_at": at}
        )
    return rows


async def hotspots(
    pool: asyncpg.Pool, tenant_id: str, subscription_id: UUID
) -> list[dict[str, Any]]:
    """The Hotspot tab."""
    return await _rows(pool, HOTSPOTS, tenant_id, subscription_id)


async def devices(
    pool: asyncpg.Pool, tenant_id: str, subscription_id: UUID
) -> list[dict[str, Any]]:
    """The Devices tab."""
    return await _rows(pool, DEVICES, tenant_id, subscription_id)


async def payments(
    pool: asyncpg.Pool, tenant_id: str, subscription_id: UUID
) -> list[dict[str, Any]]:
    """Payment history, newest first, each with its refunds; money as decimal strings."""
    rows = await _rows(pool, PAYMENTS, tenant_id, subscription_id)
    for row in rows:
        for key in ("amount", "refunded", "net"):
            row[key] = _money(row[key])
        row["refunds"] = [{**r, "amount": _money(r["amount"])} for r in row["refunds"]]
    return rows


async def touchpoints(
    pool: asyncpg.Pool, tenant_id: str, subscription_id: UUID, limit: int = 500
) -> list[dict[str, Any]]:
    """Touchpoints, newest first."""
    return await _rows(pool, TOUCHPOINTS, tenant_id, subscription_id, limit)


async def counts(pool: asyncpg.Pool, tenant_id: str, subscription_id: UUID) -> dict[str, int]:
    """How many services, hotspot accounts and devices the subscription has."""
    row = await pool.fetchrow(COUNTS, tenant_id, subscription_id)
    return {"services": row[0], "hotspots": row[1], "devices": row[2]}


async def account_counts(
    pool: asyncpg.Pool, tenant_id: str, subscription_id: UUID
) -> dict[str, int]:
    """How many touchpoints and payments the subscription has (the admin pages' tab counts)."""
    row = await pool.fetchrow(ACCOUNT_COUNTS, tenant_id, subscription_id)
    return {"touchpoints": row[0], "payments": row[1]}


async def details(pool: asyncpg.Pool, tenant_id: str, subscription_id: UUID) -> dict[str, Any]:
    """The Details tab: billing, service information, hardware, payment history."""
    billing = await pool.fetchrow(BILLING, tenant_id, subscription_id)
    service_rows = await services(pool, tenant_id, subscription_id)
    device_rows = await devices(pool, tenant_id, subscription_id)
    return {
        "billing": {**dict(billing), "price": _money(billing["price"])} if billing else None,
        "service_information": [
            {
                "id": s["id"],
                "plan": s["plan"],
                "download_max_mbps": s["download_max_mbps"],
                "upload_max_mbps": s["upload_max_mbps"],
                "ipv4": s["ipv4"],
                "ipv6": s["ipv6"],
                "pppoe_username": s["pppoe_username"],
                "parent_node": s["parent_node"],
                "status": s["status"],
            }
            for s in service_rows
        ],
        "hardware": [
            {key: d[key] for key in ("id", "name", "type", "vendor", "model", "serial", "mac")}
            for d in device_rows
        ],
        "payments": await payments(pool, tenant_id, subscription_id),
        "account": await account_queries.account(pool, tenant_id, subscription_id),
    }


def _money(value: Any) -> str:
    """A numeric as a decimal string without trailing zeros beyond the cents."""
    text = format(Decimal(value), "f")
    if "." in text:
        whole, fraction = text.split(".")
        fraction = fraction.rstrip("0").ljust(2, "0")
        return f"{whole}.{fraction}"
    return f"{text}.00"
