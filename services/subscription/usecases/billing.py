"""Use cases of the account and of status changes that happen on their own: the tenant's grace
days, status changes scheduled by staff, and the scheduler's commands (each with its clock)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from contracts import billing as c
from services.subscription.read import account as account_queries
from services.subscription.sheets.files import BOM, CSV_MEDIA_TYPE, attachment, csv_bytes
from services.subscription.usecases.calls import CHANGED, CREATED, Call, Result, Runner, item, now
from services.subscription.usecases.exports import Download
from services.subscription.usecases.inputs import ScheduledStatusIn, SettingsIn
from services.subscription.write import tenants
from services.subscription.write.handlers import Outcome

BILLING_ACTOR = "system:billing"
SCHEDULER_ACTOR = "system:scheduler"


def _version(outcome: Outcome) -> tuple[str, dict[str, Any]]:
    return CHANGED, {"version": outcome.version, "position": outcome.position}


def _changed(outcome: Outcome) -> tuple[str, dict[str, Any]]:
    """The scheduler's commands: whether they changed anything (kept with their key)."""
    return CHANGED, {
        "id": str(outcome.stream_id),
        "version": outcome.version,
        "position": outcome.position,
        "appended": outcome.appended,
    }


class Billing:
    """The account's commands and the tenant's settings, for a caller."""

    def __init__(self, runner: Runner, pool: asyncpg.Pool) -> None:
        self._runner = runner
        self._pool = pool

    async def settings(self, tenant_id: str) -> dict[str, Any]:
        """The tenant's settings (defaults when never set)."""
        return _settings(await tenants.get(self._pool, tenant_id))

    async def set_settings(self, call: Call, data: SettingsIn) -> dict[str, Any]:
        """Set the tenant's grace days: the settings as they now are."""
        saved = await tenants.set_grace_days(
            self._pool, call.tenant_id, data.grace_days, call.actor
        )
        return _settings(saved)

    async def schedule_status(
        self, call: Call, subscription_id: UUID, data: ScheduledStatusIn
    ) -> Result:
        """Schedule a status change for a moment to come: its id."""
        schedule_id = uuid4()
        command = c.ScheduleStatusChange(
            subscription_id=subscription_id,
            schedule_id=schedule_id,
            status=data.status,
            reason=data.reason,
            at=data.at,
            now=now(),
        )
        return await self._runner.subscription(call, command, item(CREATED, schedule_id))

    async def cancel_scheduled_status(
        self, call: Call, subscription_id: UUID, schedule_id: UUID
    ) -> Result:
        """Cancel a scheduled status change: the subscription's version and position."""
        command = c.CancelScheduledStatusChange(
            subscription_id=subscription_id, schedule_id=schedule_id, now=now()
        )
        return await self._runner.subscription(call, command, _version)

    async def issue_invoice(
        self, call: Call, subscription_id: UUID, period_start: date, at: datetime
    ) -> Result:
        """Issue the invoice of the period starting on `period_start` (once) at `at`."""
        command = c.IssueInvoice(subscription_id=subscription_id, period_start=period_start, now=at)
        return await self._runner.subscription(call, command, _changed)

    async def suspend_overdue(
        self, call: Call, subscription_id: UUID, grace_days: int, at: datetime
    ) -> Result:
        """Suspend the subscription if an invoice is unpaid past the grace days at `at`."""
        command = c.SuspendOverdue(subscription_id=subscription_id, grace_days=grace_days, now=at)
        return await self._runner.subscription(call, command, _changed)

    async def reactivate_paid(self, call: Call, subscription_id: UUID, at: datetime) -> Result:
        """Reactivate a subscription suspended for being overdue once its balance is cleared."""
        command = c.ReactivatePaid(subscription_id=subscription_id, now=at)
        return await self._runner.subscription(call, command, _changed)

    async def apply_scheduled_status(
        self, call: Call, subscription_id: UUID, schedule_id: UUID, at: datetime
    ) -> Result:
        """Carry out a scheduled status change if it is due at `at`."""
        command = c.ApplyScheduledStatusChange(
            subscription_id=subscription_id, schedule_id=schedule_id, now=at
        )
        return await self._runner.subscription(call, command, _changed)


def _settings(saved: tenants.TenantSettings) -> dict[str, Any]:
    return {
        "grace_days": saved.grace_days,
        "updated_by": saved.updated_by,
        "updated_at": saved.updated_at,
    }


def invoices_csv(pool: asyncpg.Pool, tenant_id: str, start: date, end: date) -> Download:
    """The tenant's invoices issued from `start` to before `end` as CSV (UTF-8 with BOM),
    written page by page as they are read: for the accountant."""
    name = f"invoices-{start}-to-{end}.csv"
    return Download(_invoice_csv(pool, tenant_id, start, end), CSV_MEDIA_TYPE, attachment(name))


async def _invoice_csv(
    pool: asyncpg.Pool, tenant_id: str, start: date, end: date
) -> AsyncIterator[bytes]:
    yield BOM + csv_bytes([account_queries.EXPORT_COLUMNS])
    async for rows in account_queries.invoice_rows(pool, tenant_id, start, end):
        yield csv_bytes(rows)
