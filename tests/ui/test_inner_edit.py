"""The inner page's dialogs in headless chromium, and every page at phone width.

A service's QoS mode is edited through its dialog (opened over the page by app.js), and the
inner page, the list, the add form, the import page and the sign-in page are checked at 390 px:
the page body never scrolls sideways (wide tables scroll inside their own frame).
"""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.ui.browsing import pick, screenshot, sign_in
from tests.ui.conftest import Tenant

pytestmark = pytest.mark.ui

PHONE_390 = {"width": 390, "height": 844}
SERVICE = {
    "plan": "Fibre 100",
    "download_max_mbps": 100,
    "upload_max_mbps": 20,
    "download_min_mbps": 50,
    "upload_min_mbps": 10,
    "qos_mode": "cake",
    "ipv4": ["192.0.2.20"],
    "pppoe_username": "lovelace-farm",
    "installation_address": "Farm track 3, Northfield",
}


async def _with_service(base_url: str, tenant: Tenant, name: str) -> None:
    """A service on the tenant's subscription `name`, visible on the pages before returning."""
    subscription_id = tenant.ids[name]
    async with httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {tenant.admin_token}"}, timeout=30
    ) as http:
        added = await http.post(f"/api/v1/subscriptions/{subscription_id}/services", json=SERVICE)
        assert added.status_code == 201, added.text
        seen = await http.get(
            f"/api/v1/subscriptions/{subscription_id}/services",
            params={"min_position": added.json()["position"]},
        )
        assert seen.status_code == 200, seen.text


async def _body_fits(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_390["width"], f"{page.url} scrolls sideways: {width} px wide"


async def test_a_services_qos_mode_edited_in_its_dialog(
    page: Page, base_url: str, ui_tenant: Tenant
) -> None:
    await _with_service(base_url, ui_tenant, "Lovelace farm backhaul")
    await sign_in(page, ui_tenant.admin_token)
    await page.get_by_role("link", name="Lovelace farm backhaul").click()
    await page.get_by_role("link", name="Services (1)").click()
    row = page.locator("tbody tr", has_text="lovelace-farm")
    await expect(row).to_contain_text("cake")
    await expect(row).to_contain_text("min 50 / 10")
    await expect(row).to_contain_text("Farm track 3, Northfield")

    await row.get_by_role("link", name="Edit service Fibre 100").click()
    dialog = page.get_by_role("dialog", name="Edit service Fibre 100")
    await expect(dialog).to_be_visible()
    assert await dialog.evaluate("d => d.matches(':modal')"), "the dialog opens over the page"
    await expect(dialog.get_by_label("QoS mode")).to_have_value("cake")
    await expect(dialog.get_by_label("Installation address")).to_have_value(
        "Farm track 3, Northfield"
    )
    await dialog.get_by_label("QoS mode").fill("fq_codel")
    await screenshot(page, "inner-edit-dialog.png")
    await dialog.get_by_role("button", name="Save changes").click()

    await expect(page.get_by_role("dialog")).to_have_count(0)
    await expect(row).to_contain_text("fq_codel")
    await expect(row).to_contain_text("lovelace-farm")  # the fields not changed are kept

    # A refused edit opens its dialog again with the field's error and what was typed.
    await row.get_by_role("link", name="Edit service Fibre 100").click()
    await dialog.get_by_label("Download min Mbps").fill("500")
    await dialog.get_by_role("button", name="Save changes").click()
    await expect(dialog).to_be_visible()
    await expect(dialog.locator(".field-error")).to_contain_text("must not exceed")
    await expect(dialog.get_by_label("Download min Mbps")).to_have_value("500")
    await dialog.get_by_role("link", name="Cancel").click()
    await expect(dialog).to_be_hidden()


async def test_the_subscription_edited_with_a_picker_in_its_dialog(
    page: Page, ui_tenant: Tenant
) -> None:
    await sign_in(page, ui_tenant.admin_token)
    await page.get_by_role("link", name="Turing office link").click()
    await page.get_by_role("link", name="Edit subscription").click()
    dialog = page.get_by_role("dialog", name="Edit subscription")
    await expect(dialog.get_by_label("Contact")).to_have_value("Alan Turing")
    await pick(page, "Contact", "ada", "Ada Lovelace")
    await dialog.get_by_label("Description").fill("Moved to Ada's account")
    await dialog.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_role("dialog")).to_have_count(0)
    facts = page.locator(".facts")
    await expect(facts).to_contain_text("Ada Lovelace")
    await expect(facts).to_contain_text("Moved to Ada's account")


async def test_every_page_fits_a_phone(browser: Browser, base_url: str, ui_tenant: Tenant) -> None:
    await _with_service(base_url, ui_tenant, "Lovelace home fibre")
    context = await browser.new_context(base_url=base_url, viewport=PHONE_390, is_mobile=True)
    context.set_default_timeout(15_000)
    page = await context.new_page()
    try:
        await page.goto("/login")
        await _body_fits(page)
        await sign_in(page, ui_tenant.admin_token)
        await _body_fits(page)
        for path in ("/admin/subscriptions/new", "/admin/imports/new"):
            await page.goto(path)
            await _body_fits(page)

        inner = f"/admin/subscriptions/{ui_tenant.ids['Lovelace home fibre']}"
        for tab in ("details", "services", "hotspot", "devices", "history", "summary"):
            await page.goto(f"{inner}?tab={tab}")
            await expect(page.get_by_role("heading", name="Lovelace home fibre")).to_be_visible()
            await _body_fits(page)
        await screenshot(page, "inner-page-phone.png")

        await page.get_by_role("link", name="Edit subscription").click()
        dialog = page.get_by_role("dialog", name="Edit subscription")
        await expect(dialog).to_be_visible()
        await _body_fits(page)
        box = await dialog.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE_390["width"]
    finally:
        await context.close()


async def test_the_dialogs_open_in_place_without_javascript(
    browser: Browser, base_url: str, ui_tenant: Tenant
) -> None:
    context = await browser.new_context(base_url=base_url, java_script_enabled=False)
    page = await context.new_page()
    try:
        await sign_in(page, ui_tenant.admin_token)
        await page.goto(f"/admin/subscriptions/{ui_tenant.ids['Turing office link']}")
        await page.get_by_role("link", name="Change status").click()
        form = page.get_by_role("form", name="Change status")
        await expect(form).to_be_visible()
        await form.get_by_label("Status").select_option("Active")
        await form.get_by_role("button", name="Change status").click()
        await expect(page.locator(".page-head .badge")).to_have_text("Active")
    finally:
        await context.close()
