"""An overdue customer in headless chromium: a billed subscription with a service on a plan is
invoiced and suspended as overdue by the scheduler (`scheduler run-once --now`, a process on the
UI system's database), then staff change its plan and record the payment in the browser, and the
next pass reactivates it: the badge is Active again and History says why.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.conftest import ROOT
from tests.helpers import until
from tests.importer.conftest import ImportSystem
from tests.integration.test_scheduler import at, month_ahead
from tests.ui.browsing import sign_in
from tests.ui.conftest import Tenant

pytestmark = pytest.mark.ui

SUBSCRIPTION = "Lovelace home fibre"
PLAN = {"download_max_mbps": 30, "upload_max_mbps": 10, "download_min_mbps": 10,
        "qos_mode": "cake", "currency": "USD", "cycle": "monthly"}  # fmt: skip
BILLING = {"plan": "Home 30", "price": "30.00", "currency": "USD", "cycle": "monthly",
           "billing_day": 1}  # fmt: skip
HOME_50 = "Home 50 — 30/10 Mbps, 50.00 USD monthly"


def run_once(system: ImportSystem, tenant: Tenant, now: datetime) -> str:
    """One scheduler pass for the tenant as of `now`, as an operator runs it."""
    command = [sys.executable, "-m", "services.subscription", "scheduler", "run-once",
               "--now", now.isoformat(), "--tenant", tenant.id]  # fmt: skip
    done = subprocess.run(command, env=system.env, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def _account(http: httpx.AsyncClient, sub_id: str) -> dict[str, Any]:
    answered = await http.get(f"/api/v1/subscriptions/{sub_id}/account")
    assert answered.status_code == 200, answered.text
    return dict(answered.json())


async def _suspended_as_overdue(system: ImportSystem, tenant: Tenant) -> str:
    """The subscription billed, on Home 30, invoiced next month and suspended past the grace
    days; its id."""
    y, m, _ = month_ahead()
    sub_id = tenant.ids[SUBSCRIPTION]
    async with httpx.AsyncClient(
        base_url=system.base_url,
        headers={"Authorization": f"Bearer {tenant.admin_token}"},
        timeout=30,
    ) as http:
        plans = [
            (await http.post("/api/v1/plans", json={**PLAN, "name": name, "price": price}))
            for name, price in (("Home 30", "30.00"), ("Home 50", "50.00"))
        ]
        assert all(p.status_code == 201 for p in plans), [p.text for p in plans]
        billed = await http.put(f"/api/v1/subscriptions/{sub_id}/billing", json=BILLING)
        assert billed.status_code == 200, billed.text
        service = {"plan_id": plans[0].json()["id"], "pppoe_username": "lovelace-home"}
        added = await http.post(f"/api/v1/subscriptions/{sub_id}/services", json=service)
        assert added.status_code == 201, added.text

        async def billing_known() -> bool:
            return (await _account(http, sub_id)).get("billing") is not None

        await until(billing_known, failing="the account read model has no billing")
        assert "invoice" in run_once(system, tenant, at(y, m, 1))

        async def invoiced() -> bool:
            return len((await _account(http, sub_id))["invoices"]) == 1

        await until(invoiced, failing="the invoice is not in the account read model")
        assert "overdue" in run_once(system, tenant, at(y, m, 9))

        async def suspended() -> bool:
            return (await _account(http, sub_id))["overdue"] is True

        await until(suspended, failing="not suspended as overdue")
    return sub_id


async def test_a_plan_changed_and_the_payment_recorded_reactivate_an_overdue_customer(
    page: Page, ui_tenant: Tenant, ui_system: ImportSystem
) -> None:
    sub_id = await _suspended_as_overdue(ui_system, ui_tenant)
    await sign_in(page, ui_tenant.admin_token)
    await page.goto(f"/admin/subscriptions/{sub_id}")
    badge = page.locator(".page-head .badge")
    await expect(badge).to_have_text("Suspended")

    # The plan changed now: the proration adds to what is owed.
    await page.get_by_role("link", name=re.compile(r"^Services \(")).click()
    row = page.locator("tbody tr", has_text="lovelace-home")
    await row.get_by_role("link", name="Change plan of service Home 30").click()
    change = page.get_by_role("dialog", name="Change plan of service Home 30")
    await change.get_by_label("New plan").select_option(label=HOME_50)
    await change.get_by_role("button", name="Change plan").click()
    await expect(page.locator("p.saved")).to_contain_text("from Home 30 to Home 50")

    # The Details tab says what is owed; the payment of all of it is recorded there.
    await page.get_by_role("link", name=re.compile(r"^Details \(")).click()
    account = page.locator("section", has=page.get_by_role("heading", name="Account"))
    await expect(account).to_contain_text("Charge: Home 50")
    async with httpx.AsyncClient(
        base_url=ui_system.base_url,
        headers={"Authorization": f"Bearer {ui_tenant.admin_token}"},
        timeout=30,
    ) as http:
        owed = (await _account(http, sub_id))["balance"]
    await page.get_by_role("link", name="Add payment").click()
    payment = page.get_by_role("dialog", name="Add payment")
    await payment.get_by_label(re.compile(r"^Amount\b")).fill(owed)
    await payment.get_by_label(re.compile(r"^Currency\b")).fill("USD")
    await payment.get_by_label(re.compile(r"^Method\b")).fill("cash")
    paid_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M")
    await payment.get_by_label(re.compile(r"^Paid at")).fill(paid_at)
    await payment.get_by_role("button", name="Add payment").click()
    payments = page.get_by_role("region", name="Payments")
    await expect(payments.locator("tbody tr", has_text="cash")).to_contain_text(f"{owed} USD")
    await expect(badge).to_have_text("Suspended")

    # The next pass finds the balance cleared and reactivates.
    y, m, _ = month_ahead()
    async with httpx.AsyncClient(
        base_url=ui_system.base_url,
        headers={"Authorization": f"Bearer {ui_tenant.admin_token}"},
        timeout=30,
    ) as http:

        async def cleared() -> bool:
            return (await _account(http, sub_id))["balance"] == "0.00"

        await until(cleared, failing="the payment did not clear the balance")
    assert "paid" in run_once(ui_system, ui_tenant, at(y, m, 10))

    async def active() -> bool:
        await page.reload()
        return await badge.text_content() == "Active"

    await until(active, every=0.5, failing="the badge is not Active again")
    await page.get_by_role("link", name=re.compile(r"^History \(")).click()
    line = page.locator("li, tr", has_text="the balance was paid").first
    await expect(line).to_contain_text("system:billing")
