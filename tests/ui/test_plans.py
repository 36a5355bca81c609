"""Plans in headless chromium: two plans added in Administration → Plans, a service put on one
from the inner page, its plan changed now (the proration said on the page), then a change for
the next cycle shown pending and cancelled; screenshots of the catalogue and of the Change plan
dialog for the README.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.ui.browsing import screenshot, sign_in
from tests.ui.conftest import Tenant

pytestmark = pytest.mark.ui

HOME_30 = {"Name": "Home 30", "Price": "30.00", "Currency": "USD", "Download max Mbps": "30",
           "Upload max Mbps": "10", "Download min Mbps": "10", "QoS mode": "cake"}  # fmt: skip
HOME_50 = {**HOME_30, "Name": "Home 50", "Price": "50.00", "Download max Mbps": "50",
           "Upload max Mbps": "20"}  # fmt: skip


# How the service forms' selects name the plans.
OPTION = {
    "Home 30": "Home 30 — 30/10 Mbps, 30.00 USD monthly",
    "Home 50": "Home 50 — 50/20 Mbps, 50.00 USD monthly",
}


async def _add_plan(page: Page, fields: dict[str, str]) -> None:
    await (
        page.get_by_role("navigation", name="Administration")
        .get_by_role("link", name="Plans")
        .click()
    )
    await page.get_by_role("link", name="Add plan").click()
    form = page.get_by_role("form", name="Add plan")
    for label, value in fields.items():
        await form.get_by_label(re.compile(rf"^{re.escape(label)}\b")).fill(value)
    await form.get_by_label("Cycle").select_option("monthly")
    await form.get_by_role("button", name="Save").click()
    await expect(page.locator("p.saved")).to_have_text("Plan added.")
    await expect(page.get_by_role("heading", name=fields["Name"])).to_be_visible()


async def test_a_plan_added_a_service_put_on_it_and_its_plan_changed(
    page: Page, ui_tenant: Tenant
) -> None:
    await sign_in(page, ui_tenant.admin_token)
    await _add_plan(page, HOME_30)
    await _add_plan(page, HOME_50)
    await page.get_by_role("link", name="Plans", exact=True).first.click()
    plans = page.get_by_role("region", name="Plans")
    await expect(plans.locator("tbody tr")).to_have_count(2)
    await expect(plans).to_contain_text("50.00 USD monthly")
    await screenshot(page, "plans.png")

    # A service on Home 30, its upload rate its own.
    await page.get_by_role("link", name="Subscriptions", exact=True).click()
    await page.get_by_role("link", name="Lovelace home fibre").click()
    await page.get_by_role("link", name="Services (0)").click()
    await page.get_by_role("link", name="Add service").click()
    service = page.get_by_role("dialog", name="Add service")
    await service.get_by_label("From the catalogue").select_option(label=OPTION["Home 30"])
    await service.get_by_label("Upload max Mbps").fill("15")
    await service.get_by_label("PPPoE username").fill("lovelace-home")
    await service.get_by_role("button", name="Add service").click()
    row = page.locator("tbody tr", has_text="lovelace-home")
    await expect(row).to_contain_text("Home 30")
    await expect(row).to_contain_text("30 / 15 (upload override)")

    # Changed now: the page says what was credited and charged.
    await row.get_by_role("link", name="Change plan of service Home 30").click()
    change = page.get_by_role("dialog", name="Change plan of service Home 30")
    await expect(change).to_be_visible()
    await change.get_by_label("New plan").select_option(label=OPTION["Home 50"])
    await expect(change.get_by_label("Takes effect")).to_have_value("now")
    await screenshot(page, "change-plan-dialog.png")
    await change.get_by_role("button", name="Change plan").click()
    said = page.locator("p.saved")
    await expect(said).to_contain_text("Service plan changed from Home 30 to Home 50")
    await expect(said).to_contain_text("credit")
    await expect(said).to_contain_text("charge")
    await expect(row).to_contain_text("50 / 15 (upload override)")

    # For the next cycle: pending until then, and cancelled.
    await row.get_by_role("link", name="Change plan of service Home 50").click()
    change = page.get_by_role("dialog", name="Change plan of service Home 50")
    await change.get_by_label("New plan").select_option(label=OPTION["Home 30"])
    await change.get_by_label("Takes effect").select_option("next_cycle")
    await change.get_by_role("button", name="Change plan").click()
    await expect(row.locator(".pending-plan")).to_contain_text("Changes to Home 30 on")
    await screenshot(page, "plan-change-pending.png")
    await row.get_by_role("link", name="Cancel pending change of service Home 50").click()
    cancel = page.get_by_role("dialog", name="Cancel pending change of service Home 50")
    await cancel.get_by_role("button", name="Cancel pending change").click()
    await expect(row.locator(".pending-plan")).to_have_count(0)
    await expect(row).to_contain_text("Home 50")


async def test_a_read_token_sees_the_catalogue_without_actions(
    page: Page, ui_tenant: Tenant
) -> None:
    await sign_in(page, ui_tenant.read_token)
    await page.get_by_role("link", name="Plans", exact=True).click()
    await expect(page.get_by_role("heading", name="Plans")).to_be_visible()
    await expect(page.get_by_role("link", name="Add plan")).to_have_count(0)
