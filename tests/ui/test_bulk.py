"""A bulk change from the list, in headless chromium: rows ticked, or all matching the filter,
followed on the job's page (which reloads itself) to its refused rows."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.ui.browsing import pick, screenshot, sign_in
from tests.ui.conftest import Tenant

pytestmark = pytest.mark.ui


async def test_a_bulk_status_change_and_an_engineer_for_all_matching(
    page: Page, ui_tenant: Tenant
) -> None:
    await sign_in(page, ui_tenant.admin_token)
    for name in ("Lovelace home fibre", "Turing old cabin"):  # the cabin is Cancelled
        await page.get_by_label(f"Select {ui_tenant.unique_ids[name]}").check()
    await page.get_by_label("Bulk action").select_option("status")
    await page.get_by_label("Move to").select_option("Suspended")
    await page.get_by_label("Why (recorded on each)").fill("tower maintenance")
    await screenshot(page, "bulk-form.png", full_page=True)
    await page.get_by_role("button", name="Run bulk change").click()

    await expect(page).to_have_url(re.compile(r"/admin/bulk/[0-9a-f-]+$"))
    await expect(page.locator("#bulk-state")).to_have_text("completed", timeout=60_000)
    await expect(page.locator("#bulk-changed")).to_have_text("1")
    await expect(page.locator("#bulk-refused")).to_have_text("1")
    refused = page.locator("#bulk-refusals tbody tr")
    await expect(refused).to_have_count(1)
    await expect(refused).to_contain_text(ui_tenant.unique_ids["Turing old cabin"])
    await expect(page.get_by_text("Change status to Suspended")).to_be_visible()
    await screenshot(page, "bulk-job.png")

    # Every subscription the text filter matches, whatever the page shows: an engineer.
    await page.goto("/admin/subscriptions?q=Lovelace")
    await expect(page.locator("tbody tr")).to_have_count(2)
    await page.get_by_label(re.compile("all 2 matching this filter")).check()
    await page.get_by_label("Bulk action").select_option("engineer")
    await pick(page, "Assign to", "grace", "Grace Hopper")
    await page.get_by_role("button", name="Run bulk change").click()
    await expect(page.locator("#bulk-state")).to_have_text("completed", timeout=60_000)
    await expect(page.locator("#bulk-changed")).to_have_text("1")  # the farm; home had Grace
    await expect(page.locator("#bulk-unchanged")).to_have_text("1")

    # A form without its reason comes back with the field's error.
    await page.goto("/admin/subscriptions")
    await page.get_by_label(f"Select {ui_tenant.unique_ids['Turing office link']}").check()
    await page.get_by_label("Bulk action").select_option("status")
    await page.get_by_label("Move to").select_option("Active")
    await page.get_by_role("button", name="Run bulk change").click()
    await expect(page.locator("#bulk-reason-error")).to_be_visible()


async def test_a_read_token_has_no_bulk_form(page: Page, ui_tenant: Tenant) -> None:
    await sign_in(page, ui_tenant.read_token)
    await expect(page.locator("tbody tr")).to_have_count(4)
    await expect(page.locator("#bulk-form")).to_have_count(0)
    await expect(page.get_by_role("checkbox")).to_have_count(0)
