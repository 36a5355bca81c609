"""The account and the scheduler with an injected clock (real PostgreSQL, projections run
in-process): a subscription through a month, a scheduled cancellation, and passes repeated, run
side by side, or killed and restarted that issue nothing twice."""

from __future__ import annotations

import asyncio
import calendar
import signal
import sys
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

import asyncpg
import httpx

from services.projections.rebuild import build_shadows, drop_shadows
from services.subscription.scheduler import passes
from tests.conftest import ROOT
from tests.helpers import until
from tests.integration.conftest import WebFactory, new_subscription, project
from tests.integration.test_api_plans import HOME_50, _feed, _plan, _rates

BILLING = {"plan": "Home 30", "price": "30.00", "currency": "USD", "cycle": "monthly",
           "billing_day": 1}  # fmt: skip
LAST_POSITION = "select coalesce(max(position), 0) from events.events where tenant_id = $1"
INVOICES_PER_SUBSCRIPTION = """
select stream_id, count(*) as n from events.events
where tenant_id = $1 and type = 'subscription.invoice_issued'
group by stream_id
"""


def month_ahead() -> tuple[int, int, int]:
    """Year, month and its days of next month: every moment of the walk lies ahead of the real
    clock, which the commands that staff send (payments, schedules) are decided with."""
    today = datetime.now(UTC).date()
    first = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    return first.year, first.month, calendar.monthrange(first.year, first.month)[1]


def at(y: int, m: int, d: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=UTC)


async def caught_up(api: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    await project(pool, await pool.fetchval(LAST_POSITION, api.tenant_id))  # type: ignore[attr-defined]


async def run_once(
    api: httpx.AsyncClient, pool: asyncpg.Pool, transport: httpx.ASGITransport, now: datetime
) -> list[passes.Done]:
    """One pass for the client's tenant as of `now`, once the read models have caught up."""
    await caught_up(api, pool)
    cases = transport.app.state.usecases  # type: ignore[attr-defined]
    return await passes.run_once(pool, cases, now, tenant_id=api.tenant_id)  # type: ignore[attr-defined]


def outcomes(done: list[passes.Done]) -> list[tuple[str, str]]:
    return [(d.found.kind, d.outcome) for d in done]


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


async def account(api: httpx.AsyncClient, sub: dict[str, Any]) -> dict[str, Any]:
    answered = await api.get(f"/api/v1/subscriptions/{sub['id']}/account")
    assert answered.status_code == 200, answered.text
    return answered.json()


async def status(api: httpx.AsyncClient, sub: dict[str, Any]) -> str:
    return str((await api.get(f"/api/v1/subscriptions/{sub['id']}")).json()["status"])


async def last_history(api: httpx.AsyncClient, sub: dict[str, Any]) -> dict[str, Any]:
    history = await api.get(f"/api/v1/subscriptions/{sub['id']}/history")
    return dict(history.json()["items"][0])


async def billed_subscription(api: httpx.AsyncClient) -> dict[str, Any]:
    sub = await new_subscription(api)
    billed = await api.put(f"/api/v1/subscriptions/{sub['id']}/billing", json=BILLING)
    assert billed.status_code == 200, billed.text
    return sub


async def test_a_month_invoiced_upgraded_overdue_suspended_and_paid_reactivated(
    api: httpx.AsyncClient,
    pool: asyncpg.Pool,
    app_transport: httpx.ASGITransport,
    web: WebFactory,
) -> None:
    y, m, days = month_ahead()
    basic, fast = await _plan(api), await _plan(api, **HOME_50)
    sub = await billed_subscription(api)
    services = f"/api/v1/subscriptions/{sub['id']}/services"
    service = (await api.post(services, json={"plan_id": basic, "ipv4": ["100.64.40.1"]})).json()
    change = await api.post(
        f"{services}/{service['id']}/plan",
        json={"plan_id": fast, "effective": at(y, m, 15, 6).isoformat()},
    )
    assert change.status_code == 200, change.text
    assert (await api.get("/api/v1/settings")).json()["grace_days"] == 7

    # The day before the billing day: this period's invoice is not issued yet.
    before = await run_once(api, pool, app_transport, at(y, m, 1) - timedelta(hours=1))
    assert "invoice" not in [kind for kind, _ in outcomes(before)] or datetime.now(UTC).day == 1
    # The billing day: the invoice for the coming period, due that day.
    issued = await run_once(api, pool, app_transport, at(y, m, 1))
    assert outcomes(issued) == [("invoice", "changed")]
    await caught_up(api, pool)
    [invoice] = (await account(api, sub))["invoices"]
    assert (invoice["period_start"], invoice["period_end"]) == (
        f"{y:04d}-{m:02d}-01", f"{y:04d}-{m:02d}-{days:02d}",
    )  # fmt: skip
    assert (invoice["total"], invoice["due_on"]) == ("30.00", f"{y:04d}-{m:02d}-01")
    assert (await account(api, sub))["balance"] == "30.00"
    assert (await last_history(api, sub))["actor"] == "system:billing"
    # Later the same day, and again: nothing more.
    assert outcomes(await run_once(api, pool, app_transport, at(y, m, 1, 12))) == []

    # The last of the 7 grace days: still Active; the day after: Suspended, shaped at the trickle.
    assert outcomes(await run_once(api, pool, app_transport, at(y, m, 8, 23, 59))) == []
    suspended = await run_once(api, pool, app_transport, at(y, m, 9))
    assert outcomes(suspended) == [("overdue", "changed")]
    await caught_up(api, pool)
    assert await status(api, sub) == "Suspended"
    line = await last_history(api, sub)
    assert (line["actor"], line["data"]["reason"], line["data"]["cause"]) == (
        "system:billing", "overdue", "overdue",
    )  # fmt: skip
    feed = await _feed(app_transport, pool, api.tenant_id)  # type: ignore[attr-defined]
    assert _rates(feed[service["id"]])[2:] == (1, 1)  # WISPGATE_LIBREQOS_SUSPENDED_MBPS

    # Mid-cycle upgrade on the 15th: credit and charge for the days left, to the cent.
    moved = await run_once(api, pool, app_transport, at(y, m, 15, 6))
    assert outcomes(moved) == [("plan_change", "changed")]
    await caught_up(api, pool)
    left = days - 15 + 1
    credit = cents(Decimal(30) * left / days)
    charge = cents(Decimal(50) * left / days)
    state = await account(api, sub)
    lines = [(x["kind"], x["amount"]) for x in state["lines"]]
    assert lines == [("invoice", "30.00"), ("credit", f"{-credit}"), ("charge", f"{charge}")]
    owed = Decimal(30) - credit + charge
    assert Decimal(state["balance"]) == owed and state["overdue"] is True

    # A payment short of the balance changes nothing; the one that clears it reactivates.
    payments = f"/api/v1/subscriptions/{sub['id']}/payments"
    paid_at = datetime.now(UTC).isoformat()
    first = {"amount": "30.00", "currency": "USD", "method": "cash", "paid_at": paid_at}
    assert (await api.post(payments, json=first)).status_code == 201
    assert outcomes(await run_once(api, pool, app_transport, at(y, m, 16))) == []
    rest = {**first, "amount": str(owed - 30)}
    assert (await api.post(payments, json=rest)).status_code == 201
    reactivated = await run_once(api, pool, app_transport, at(y, m, 16))
    assert outcomes(reactivated) == [("paid", "changed")]
    await caught_up(api, pool)
    assert await status(api, sub) == "Active"
    line = await last_history(api, sub)
    assert (line["actor"], line["data"]["reason"]) == ("system:billing", "paid")
    assert "the balance was paid" in line["summary"]
    feed = await _feed(app_transport, pool, api.tenant_id)  # type: ignore[attr-defined]
    assert _rates(feed[service["id"]])[2:] == (50, 20)
    state = await account(api, sub)
    assert (state["balance"], state["due_on"], state["overdue"]) == ("0.00", None, False)
    details = (await api.get(f"/api/v1/subscriptions/{sub['id']}/details")).json()
    assert details["account"]["balance"] == "0.00"
    browser = await web(api.tenant_id)  # type: ignore[attr-defined]
    page = (await browser.get(f"/admin/subscriptions/{sub['id']}?tab=details")).text
    assert "<h2>Account</h2>" in page and f"Invoice {invoice['number']}" in page
    assert f"Charge: Home 50, {left} of {days} days" in page

    # The accountant's invoices of the month, listed and as CSV.
    period = {"from": f"{y:04d}-{m:02d}-01", "to": f"{y:04d}-{m:02d}-{days:02d}"}
    listed = (await api.get("/api/v1/invoices", params=period)).json()
    assert [i["number"] for i in listed["items"]] == [invoice["number"]]
    csv = await api.get("/api/v1/invoices/export.csv", params=period)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    rows = csv.content.decode("utf-8-sig").splitlines()
    assert rows[0].startswith('"Number","Unique ID"') and invoice["number"] in rows[1]
    assert len(rows) == 2
    await equals_a_rebuild(api, pool)


async def equals_a_rebuild(api: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    """The account read model, live, equals a rebuild from position 0 (for this tenant)."""
    await build_shadows(pool, ["account"])
    try:
        for table in ("accounts", "invoices", "account_lines", "scheduled_statuses"):
            differ = await pool.fetchval(
                f"select count(*) from ("
                f" (select * from read.{table} where tenant_id = $1"
                f"  except all select * from read.{table}_shadow where tenant_id = $1)"
                f" union all"
                f" (select * from read.{table}_shadow where tenant_id = $1"
                f"  except all select * from read.{table} where tenant_id = $1)) d",
                api.tenant_id,  # type: ignore[attr-defined]
            )
            assert differ == 0, table
    finally:
        await drop_shadows(pool, ["account"])


async def test_a_manual_suspension_is_never_reactivated_by_a_payment(
    api: httpx.AsyncClient, pool: asyncpg.Pool, app_transport: httpx.ASGITransport
) -> None:
    y, m, _ = month_ahead()
    sub = await billed_subscription(api)
    assert outcomes(await run_once(api, pool, app_transport, at(y, m, 1))) == [
        ("invoice", "changed")
    ]
    body = {"status": "Suspended", "reason": "abuse"}
    assert (await api.post(f"/api/v1/subscriptions/{sub['id']}/status", json=body)).is_success
    paid = {"amount": "30", "currency": "USD", "method": "cash",
            "paid_at": datetime.now(UTC).isoformat()}  # fmt: skip
    assert (await api.post(f"/api/v1/subscriptions/{sub['id']}/payments", json=paid)).is_success
    assert outcomes(await run_once(api, pool, app_transport, at(y, m, 20))) == []
    assert await status(api, sub) == "Suspended"


async def test_a_scheduled_cancellation_takes_effect_on_its_date(
    api: httpx.AsyncClient, pool: asyncpg.Pool, app_transport: httpx.ASGITransport
) -> None:
    y, m, _ = month_ahead()
    sub = await new_subscription(api)
    url = f"/api/v1/subscriptions/{sub['id']}/scheduled-status"
    body = {"status": "Cancelled", "reason": "end of contract", "at": at(y, m, 20).isoformat()}
    scheduled = await api.post(url, json=body)
    assert scheduled.status_code == 201, scheduled.text
    other = await api.post(url, json={**body, "status": "Inactive", "at": at(y, m, 10).isoformat()})
    refused = await api.post(url, json={**body, "at": "2020-01-01T00:00:00Z"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["pointer"] == "/at"
    cancelled = await api.delete(f"{url}/{other.json()['id']}")
    assert cancelled.status_code == 200, cancelled.text
    await caught_up(api, pool)
    summary = (await api.get(f"/api/v1/subscriptions/{sub['id']}")).json()
    [shown] = summary["scheduled_status_changes"]
    assert (shown["id"], shown["status"], shown["reason"]) == (
        scheduled.json()["id"], "Cancelled", "end of contract",
    )  # fmt: skip
    assert [s["id"] for s in (await api.get(url)).json()["items"]] == [shown["id"]]

    dry = await run_once(api, pool, app_transport, at(y, m, 20))
    cases = app_transport.app.state.usecases  # type: ignore[attr-defined]
    listed = await passes.run_once(
        pool,
        cases,
        at(y, m, 20),
        dry_run=True,
        tenant_id=api.tenant_id,  # type: ignore[attr-defined]
    )
    assert outcomes(dry) == [("scheduled_status", "changed")] and listed != []
    await caught_up(api, pool)
    assert await status(api, sub) == "Cancelled"
    line = await last_history(api, sub)
    assert (line["actor"], line["summary"]) == (
        "system:scheduler",
        "Status changed from Active to Cancelled (as scheduled): end of contract",
    )
    assert (await api.get(url)).json()["items"] == []
    await equals_a_rebuild(api, pool)


async def test_a_dry_run_lists_and_sends_nothing(
    api: httpx.AsyncClient, pool: asyncpg.Pool, app_transport: httpx.ASGITransport
) -> None:
    y, m, _ = month_ahead()
    await billed_subscription(api)
    await caught_up(api, pool)
    cases = app_transport.app.state.usecases  # type: ignore[attr-defined]
    tenant_id = api.tenant_id  # type: ignore[attr-defined]
    dry = await passes.run_once(pool, cases, at(y, m, 1), dry_run=True, tenant_id=tenant_id)
    assert outcomes(dry) == [("invoice", "would")]
    assert await pool.fetch(INVOICES_PER_SUBSCRIPTION, tenant_id) == []


async def subscriptions(api: httpx.AsyncClient, count: int) -> list[UUID]:
    made = await asyncio.gather(*(billed_subscription(api) for _ in range(count)))
    return [UUID(str(s["id"])) for s in made]


async def invoices_per_subscription(pool: asyncpg.Pool, tenant_id: str) -> dict[UUID, int]:
    return {r["stream_id"]: r["n"] for r in await pool.fetch(INVOICES_PER_SUBSCRIPTION, tenant_id)}


async def test_passes_repeated_and_side_by_side_issue_each_invoice_once(
    api: httpx.AsyncClient, pool: asyncpg.Pool, app_transport: httpx.ASGITransport
) -> None:
    y, m, _ = month_ahead()
    made = await subscriptions(api, 20)
    await caught_up(api, pool)
    cases = app_transport.app.state.usecases  # type: ignore[attr-defined]
    tenant_id = api.tenant_id  # type: ignore[attr-defined]
    two = await asyncio.gather(
        *(passes.run_once(pool, cases, at(y, m, 1), tenant_id=tenant_id) for _ in range(2))
    )
    assert sorted(d.outcome for done in two for d in done).count("changed") == 20
    # Again before the read model has seen them: found again, answered by their keys.
    again = await passes.run_once(pool, cases, at(y, m, 1, 1), tenant_id=tenant_id)
    assert {d.outcome for d in again} <= {"repeated", "nothing"}
    assert await invoices_per_subscription(pool, tenant_id) == dict.fromkeys(made, 1)
    assert outcomes(await run_once(api, pool, app_transport, at(y, m, 2))) == []


async def test_a_pass_killed_mid_run_and_restarted_issues_each_invoice_once(
    api: httpx.AsyncClient,
    pool: asyncpg.Pool,
    app_transport: httpx.ASGITransport,
    service_env: dict[str, str],
) -> None:
    y, m, _ = month_ahead()
    made = await subscriptions(api, 150)
    await caught_up(api, pool)
    tenant_id = api.tenant_id  # type: ignore[attr-defined]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.subscription", "scheduler", "run-once",
        "--now", at(y, m, 1).isoformat(), "--tenant", tenant_id,
        env={**service_env, "WISPGATE_SCHEDULER_CONCURRENCY": "1"}, cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip

    async def some_issued() -> bool:
        return len(await invoices_per_subscription(pool, tenant_id)) >= 10

    await until(some_issued, 60, 0.01, "the pass issued no invoice")
    process.send_signal(signal.SIGKILL)
    await process.wait()
    issued = await invoices_per_subscription(pool, tenant_id)
    assert 10 <= len(issued) < len(made), "the pass was not killed mid-run"
    # Restarted before the read model has caught up, and after: every invoice once.
    cases = app_transport.app.state.usecases  # type: ignore[attr-defined]
    await passes.run_once(pool, cases, at(y, m, 1, 0, 5), tenant_id=tenant_id)
    await run_once(api, pool, app_transport, at(y, m, 1, 0, 10))
    assert await invoices_per_subscription(pool, tenant_id) == dict.fromkeys(made, 1)


async def test_run_once_from_the_command_line_lists_a_dry_run(
    api: httpx.AsyncClient, pool: asyncpg.Pool, service_env: dict[str, str]
) -> None:
    y, m, _ = month_ahead()
    sub = await billed_subscription(api)
    await caught_up(api, pool)
    tenant_id = api.tenant_id  # type: ignore[attr-defined]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.subscription", "scheduler", "run-once",
        "--now", at(y, m, 1).isoformat(), "--tenant", tenant_id, "--dry-run",
        env=service_env, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await process.communicate()
    lines = out.decode().splitlines()
    assert process.returncode == 0, out.decode()
    assert lines[0].split()[:3] == ["invoice", tenant_id, sub["unique_id"]]
    assert lines[0].endswith("would") and lines[-1].endswith("(dry run)")
    assert await invoices_per_subscription(pool, tenant_id) == {}
