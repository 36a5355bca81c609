"""Settings of a tenant (schema `tenants`, written only here): the grace days after an
invoice's due date before an unpaid invoice suspends the subscription."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

DEFAULT_GRACE_DAYS = 7

GET = "select grace_days, updated_by, updated_at from tenants.settings where tenant_id = $1"
SET = """
insert into tenants.settings (tenant_id, grace_days, updated_by, updated_at)
values ($1, $2, $3, $4)
on conflict (tenant_id) do update set
    grace_days = excluded.grace_days, updated_by = excluded.updated_by,
    updated_at = excluded.updated_at
returning grace_days, updated_by, updated_at
"""


@dataclass(frozen=True)
class TenantSettings:
    grace_days: int = DEFAULT_GRACE_DAYS
    updated_by: str | None = None
    updated_at: datetime | None = None


async def get(pool: asyncpg.Pool, tenant_id: str) -> TenantSettings:
    """The tenant's settings; the defaults when none were set."""
    row = await pool.fetchrow(GET, tenant_id)
    return TenantSettings(**dict(row)) if row else TenantSettings()


async def set_grace_days(
    pool: asyncpg.Pool, tenant_id: str, grace_days: int, actor: str
) -> TenantSettings:
    """Set the tenant's grace days: its settings as they now are."""
    row = await pool.fetchrow(SET, tenant_id, grace_days, actor, datetime.now(UTC))
    return TenantSettings(**dict(row))
