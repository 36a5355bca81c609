"""The list's "overdue" and "plan" filters (GET /api/v1/subscriptions?overdue=&plan_id=, the
exports and a bulk change by filter alike), from the account and inner read models, with the
scheduler run in-process on an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import httpx

from tests.integration.conftest import WebFactory, new_subscription
from tests.integration.test_api_plans import HOME_50, _plan
from tests.integration.test_scheduler import (
    at,
    billed_subscription,
    caught_up,
    month_ahead,
    outcomes,
    run_once,
)


async def _on_plan(api: httpx.AsyncClient, sub: dict[str, Any], plan_id: str) -> None:
    added = await api.post(f"/api/v1/subscriptions/{sub['id']}/services", json={"plan_id": plan_id})
    assert added.status_code == 201, added.text


async def _listed(api: httpx.AsyncClient, **params: Any) -> set[str]:
    answered = await api.get("/api/v1/subscriptions", params=params)
    assert answered.status_code == 200, answered.text
    return {item["id"] for item in answered.json()["items"]}


async def _owing_paid_and_plain(
    api: httpx.AsyncClient, pool: asyncpg.Pool, app_transport: httpx.ASGITransport
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], str, str]:
    """Three subscriptions: one on Home 30 suspended as overdue, one on Home 50 that paid its
    invoice, one never billed; and the two plans' ids."""
    y, m, _ = month_ahead()
    basic, fast = await _plan(api), await _plan(api, **HOME_50)
    late, paid = await billed_subscription(api), await billed_subscription(api)
    plain = await new_subscription(api)
    await _on_plan(api, late, basic)
    await _on_plan(api, paid, fast)
    issued = await run_once(api, pool, app_transport, at(y, m, 1))
    assert outcomes(issued) == [("invoice", "changed")] * 2
    payment = {"amount": "30.00", "currency": "USD", "method": "cash",
               "paid_at": datetime.now(UTC).isoformat()}  # fmt: skip
    assert (await api.post(f"/api/v1/subscriptions/{paid['id']}/payments", json=payment)).is_success
    suspended = await run_once(api, pool, app_transport, at(y, m, 9))
    assert outcomes(suspended) == [("overdue", "changed")]
    await caught_up(api, pool)
    return late, paid, plain, basic, fast


async def test_overdue_and_plan_filters(
    api: httpx.AsyncClient, pool: asyncpg.Pool, app_transport: httpx.ASGITransport
) -> None:
    late, paid, plain, basic, fast = await _owing_paid_and_plain(api, pool, app_transport)
    ids = {s["id"] for s in (late, paid, plain)}

    assert await _listed(api, overdue="true") == {late["id"]}
    assert await _listed(api, overdue="false") == {paid["id"], plain["id"]}
    assert await _listed(api, plan_id=basic) == {late["id"]}
    assert await _listed(api, plan_id=fast) == {paid["id"]}
    assert await _listed(api, plan_id=fast, overdue="true") == set()
    assert await _listed(api, plan_id=basic, overdue="true", status="Suspended") == {late["id"]}
    assert await _listed(api) == ids

    # Owing past an invoice's due date counts too, suspended or not (the read model told so).
    await pool.execute(
        "update read.accounts set balance = 30, due_on = $3 where tenant_id = $1"
        " and subscription_id = $2",
        api.tenant_id,  # type: ignore[attr-defined]
        UUID(paid["id"]),
        datetime.now(UTC).date() - timedelta(days=1),
    )
    assert await _listed(api, overdue="true") == {late["id"], paid["id"]}

    for bad in ({"overdue": "maybe"}, {"plan_id": "home-30"}):
        refused = await api.get("/api/v1/subscriptions", params=bad)
        assert refused.status_code == 422, refused.text
        assert next(iter(bad)) in refused.text
    exported = await api.get(
        "/api/v1/subscriptions/export.csv", params={"overdue": "true", "plan_id": basic}
    )
    assert exported.status_code == 200
    rows = exported.content.decode("utf-8-sig").splitlines()
    assert len(rows) == 2 and late["unique_id"] in rows[1]
    spec = (await api.get("/openapi.json")).json()
    listing = spec["paths"]["/api/v1/subscriptions"]["get"]["parameters"]
    assert {"overdue", "plan_id"} <= {p["name"] for p in listing}
    body = {
        "filter": {"overdue": True, "plan_id": basic},
        "action": {"type": "status", "status": "Cancelled", "reason": "never paid"},
    }
    queued = await api.post("/api/v1/subscriptions/bulk", json=body)
    assert queued.status_code == 202, queued.text
    assert queued.json()["rows_total"] == 1


async def test_the_list_page_filters_overdue_and_by_plan(
    api: httpx.AsyncClient,
    pool: asyncpg.Pool,
    app_transport: httpx.ASGITransport,
    web: WebFactory,
) -> None:
    late, paid, plain, basic, fast = await _owing_paid_and_plain(api, pool, app_transport)
    browser = await web(api.tenant_id)  # type: ignore[attr-defined]
    page = await browser.get("/admin/subscriptions")
    assert page.status_code == 200
    assert '<label for="filter-overdue">Payment</label>' in page.text
    assert f'<option value="{basic}">Home 30</option>' in page.text
    assert all(s["unique_id"] in page.text for s in (late, paid, plain))

    overdue = await browser.get("/admin/subscriptions", params={"overdue": "true"})
    assert late["unique_id"] in overdue.text
    assert paid["unique_id"] not in overdue.text and plain["unique_id"] not in overdue.text
    assert '<option value="true" selected>Overdue</option>' in overdue.text
    assert 'name="filter_overdue" value="true"' in overdue.text
    assert "export.csv?overdue=true" in overdue.text
    on_plan = await browser.get("/admin/subscriptions", params={"plan_id": fast})
    assert paid["unique_id"] in on_plan.text and late["unique_id"] not in on_plan.text
    assert f'<option value="{fast}" selected>Home 50</option>' in on_plan.text
    exported = await browser.get(
        "/admin/subscriptions/export.csv", params={"overdue": "false", "plan_id": fast}
    )
    assert [paid["unique_id"] in row for row in exported.text.splitlines()[1:]] == [True]
    ignored = await browser.get("/admin/subscriptions", params={"overdue": "maybe", "plan_id": "x"})
    assert ignored.status_code == 200 and late["unique_id"] in ignored.text
    assert paid["unique_id"] in ignored.text
