"""One pass of the scheduler as of a moment, and the process that makes one every interval.

A pass finds what is due in the read models (read/due.py) and sends each its command through
the use cases with a deterministic idempotency key (`invoice:<subscription>:<period start>`,
`overdue:<subscription>:<due date>`, ...). Two passes at once (two replicas, a pass run by hand
beside the process) or a pass restarted after a crash send the same keys: the event store keeps
a key once and answers a repeat with the first outcome, and the decider, which decides on the
stream itself, finds nothing left to do for a candidate a lagging read model still shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from services.subscription.domain.errors import DomainError
from services.subscription.read.due import Found, due
from services.subscription.usecases.billing import BILLING_ACTOR, SCHEDULER_ACTOR
from services.subscription.usecases.bootstrap import UseCases
from services.subscription.usecases.calls import Call, Result
from services.subscription.write.tenants import DEFAULT_GRACE_DAYS

log = logging.getLogger(__name__)

# The order a pass carries the kinds out in: a plan change due today is prorated before the
# period's invoice; suspensions come after the day's invoices, reactivations last.
ORDER = ("plan_change", "scheduled_status", "invoice", "overdue", "paid")
ACTORS = {"invoice": BILLING_ACTOR, "overdue": BILLING_ACTOR, "paid": BILLING_ACTOR}


@dataclass(frozen=True)
class Done:
    """What became of one thing found due: `changed`, `nothing` (nothing left to do),
    `repeated` (its key had been answered), `refused: ...`, `failed: ...` or `would` (dry run)."""

    found: Found
    outcome: str

    def line(self) -> str:
        """One line for the operator."""
        f = self.found
        return f"{f.kind:<16} {f.tenant_id:<12} {f.unique_id:<14} {f.detail:<44} {self.outcome}"


async def run_once(
    pool: asyncpg.Pool,
    cases: UseCases,
    now: datetime,
    *,
    dry_run: bool = False,
    concurrency: int = 8,
    tenant_id: str | None = None,
) -> list[Done]:
    """Find what is due at `now` (for one tenant, or all) and, unless a dry run, send its
    commands with `now` as their clock."""
    found = await due(pool, now, DEFAULT_GRACE_DAYS, tenant_id)
    if dry_run:
        return [Done(f, "would") for f in found]
    limit = asyncio.Semaphore(concurrency)
    done: list[Done] = []
    for kind in ORDER:

        async def one(f: Found) -> Done:
            async with limit:
                return await _send(cases, f, now)

        done += await asyncio.gather(*(one(f) for f in found if f.kind == kind))
    return done


async def _send(cases: UseCases, f: Found, now: datetime) -> Done:
    call = Call(
        actor=ACTORS.get(f.kind, SCHEDULER_ACTOR), tenant_id=f.tenant_id, idempotency_key=f.key
    )
    try:
        result = await _command(cases, f, call, now)
    except DomainError as exc:
        return Done(f, f"refused: {exc.message}")
    except (asyncpg.PostgresError, OSError) as exc:  # the next pass tries again
        log.warning("scheduler command failed", extra={"key": f.key, "error": str(exc)})
        return Done(f, f"failed: {exc}")
    if result.replayed:
        return Done(f, "repeated")
    return Done(f, "changed" if result.body.get("appended", True) else "nothing")


async def _command(cases: UseCases, f: Found, call: Call, now: datetime) -> Result:
    sub = f.subscription_id
    match f.kind:
        case "plan_change" if f.item_id is not None:
            return await cases.plans.apply_plan_change(call, sub, f.item_id, now)
        case "scheduled_status" if f.item_id is not None:
            return await cases.billing.apply_scheduled_status(call, sub, f.item_id, now)
        case "invoice" if f.period_start is not None:
            return await cases.billing.issue_invoice(call, sub, f.period_start, now)
        case "overdue":
            return await cases.billing.suspend_overdue(call, sub, f.grace_days, now)
        case "paid":
            return await cases.billing.reactivate_paid(call, sub, now)
    raise ValueError(f"nothing to send for {f}")


async def run(
    pool: asyncpg.Pool, cases: UseCases, interval: float, concurrency: int, stop: asyncio.Event
) -> None:
    """A pass every `interval` seconds, on the wall clock, until `stop` is set."""
    while not stop.is_set():
        try:
            done = await run_once(pool, cases, datetime.now(UTC), concurrency=concurrency)
        except (asyncpg.PostgresError, OSError) as exc:
            log.warning("scheduler pass failed; next pass retries", extra={"error": str(exc)})
        else:
            for d in done:
                if d.outcome != "nothing":
                    log.info("scheduled command", extra={"key": d.found.key, "outcome": d.outcome})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
