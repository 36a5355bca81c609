"""The admin pages as staff use them, in headless chromium: signing in and out, the list, the
add form, the inner page, what a read token sees, and the list on a phone."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect

from tests.ui.browsing import PHONE, pick, screenshot, sign_in
from tests.ui.conftest import Tenant

pytestmark = pytest.mark.ui


async def test_signing_in_and_out(page: Page, ui_tenant: Tenant) -> None:
    await page.goto("/admin/subscriptions")
    await expect(page).to_have_url(re.compile(r"/login"))
    await page.goto("/")
    await expect(page).to_have_url(re.compile(r"/login"))
    await expect(page.get_by_label("Access token")).to_be_visible()
    await screenshot(page, "sign-in.png")

    await page.get_by_label("Access token").fill("wg_not-a-token")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_text("That token is not valid.")).to_be_visible()

    await sign_in(page, ui_tenant.admin_token)
    await expect(page.get_by_role("heading", name="Subscriptions")).to_be_visible()
    header = page.locator("header")
    await expect(header).to_contain_text(ui_tenant.id)
    await expect(header).to_contain_text("Ada Admin")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(re.compile(r"/login"))
    await page.goto("/admin/subscriptions")
    await expect(page).to_have_url(re.compile(r"/login"))


async def test_the_list_with_its_filters(page: Page, ui_tenant: Tenant) -> None:
    await sign_in(page, ui_tenant.admin_token)
    rows = page.locator("tbody tr")
    await expect(rows).to_have_count(4)
    await expect(page.locator(".status-suspended")).to_have_text("Suspended")
    await screenshot(page, "subscriptions.png")

    await page.get_by_label("Status").select_option("Suspended")
    await page.get_by_role("button", name="Apply").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Turing office link")

    # The engineer is a picker that searches as you type; the page names who it filters by.
    await page.get_by_label("Status").select_option("")
    await pick(page, "Engineer", "grace", "Grace Hopper")
    await page.get_by_label("Search").press("Enter")  # applies, rather than finding
    await expect(page).to_have_url(re.compile(f"engineer_id={ui_tenant.ids['Grace Hopper']}"))
    await expect(rows).to_have_count(2)
    await expect(page.get_by_label("Engineer")).to_have_value("Grace Hopper")
    await page.get_by_label("Engineer").fill("")
    await page.get_by_role("button", name="Apply").click()
    await expect(rows).to_have_count(4)

    await page.get_by_role("link", name="Turing office link").click()
    await expect(page.get_by_role("heading", name="Turing office link")).to_be_visible()


async def test_add_form_save_and_new_after_an_error(page: Page, ui_tenant: Tenant) -> None:
    await sign_in(page, ui_tenant.admin_token)
    await page.get_by_role("link", name="Add Subscription").click()
    await expect(page.get_by_role("heading", name="Add Subscription")).to_be_visible()
    await expect(page.get_by_text("Generated on save")).to_be_visible()
    await expect(page.get_by_text("Now", exact=True)).to_be_visible()
    await screenshot(page, "add-subscription.png")

    # The name is forgotten: the server refuses the form and shows why beside the field.
    await fill_form(page, name="", description="Rooftop link for the lab")
    await page.get_by_role("button", name="Save", exact=True).click()
    name_field = page.locator(".field", has=page.get_by_label("Subscription Name"))
    await expect(name_field.locator(".field-error")).to_have_text("This field is required.")
    await expect(page.get_by_label("Description")).to_have_value("Rooftop link for the lab")
    await expect(page.get_by_label("Engineer")).to_have_value("Grace Hopper")
    await expect(page.get_by_label("Contact")).to_have_value("Ada Lovelace")
    await expect(page.get_by_label("Service Contract")).to_have_value("SC-1 — Fibre 100")
    chosen = page.locator('input[type="hidden"][name="engineer_id"]')
    await expect(chosen).to_have_value(ui_tenant.ids["Grace Hopper"])
    await screenshot(page, "add-subscription-error.png")

    await page.get_by_label("Subscription Name").fill("Hopper lab uplink")
    await page.get_by_role("button", name="More save options").click()
    await page.get_by_role("button", name="Save & New").click()
    await expect(page).to_have_url(re.compile(r"/admin/subscriptions/new\?saved=SUB-"))
    await expect(page.get_by_text(re.compile(r"Subscription SUB-\d+ saved\."))).to_be_visible()
    await expect(page.get_by_label("Subscription Name")).to_have_value("")
    await expect(page.get_by_label("Description")).to_have_value("")

    await page.goto("/admin/subscriptions")
    await expect(page.get_by_role("link", name="Hopper lab uplink")).to_be_visible()


async def fill_form(page: Page, name: str, description: str) -> None:
    """The add form, filled with the tenant's directory."""
    await pick(page, "Contact", "lovel", "Ada Lovelace")
    await pick(page, "Organization", "acme", "Acme Wireless")
    await page.get_by_label("Subscription Name").fill(name)
    await page.get_by_label("Status").select_option("Active")
    await pick(page, "Engineer", "grace", "Grace Hopper")
    await pick(page, "Service Contract", "sc-1", "SC-1 — Fibre 100")
    await page.get_by_label("Description").fill(description)


async def test_inner_page_status_change_and_a_service(page: Page, ui_tenant: Tenant) -> None:
    await sign_in(page, ui_tenant.admin_token)
    await page.get_by_role("link", name="Lovelace home fibre").click()
    await expect(page.get_by_role("heading", name="Lovelace home fibre")).to_be_visible()

    await page.get_by_role("link", name="Change status").click()
    status_form = page.get_by_role("form", name="Change status")
    await status_form.get_by_label("Status").select_option("Suspended")
    await status_form.get_by_label("Reason").fill("Invoice 1042 unpaid")
    await status_form.get_by_role("button", name="Change status").click()
    await expect(page.locator(".page-head .badge")).to_have_text("Suspended")
    await expect(page.locator(".page-head .badge")).to_have_class(re.compile("status-suspended"))

    await page.get_by_role("link", name="Services (0)").click()
    await page.get_by_role("link", name="Add service").click()
    service_form = page.get_by_role("form", name="Add service")
    await service_form.get_by_label("Plan").fill("Fibre 100")
    await service_form.get_by_label("Download max Mbps").fill("100")
    await service_form.get_by_label("Upload max Mbps").fill("20")
    await service_form.get_by_label("IPv4 addresses").fill("192.0.2.10")
    await service_form.get_by_label("PPPoE username").fill("lovelace-home")
    await service_form.get_by_label("MAC").fill("02:00:00:00:10:42")
    await service_form.get_by_role("button", name="Add service").click()
    await expect(page.get_by_role("link", name="Services (1)")).to_be_visible()
    await expect(page.get_by_text("lovelace-home")).to_be_visible()
    await page.evaluate("window.scrollTo(0, 0)")  # the tab links jump to the tabs
    await screenshot(page, "inner-page.png")


async def test_a_read_token_sees_no_write_actions(page: Page, ui_tenant: Tenant) -> None:
    await sign_in(page, ui_tenant.read_token)
    await expect(page.locator("header")).to_contain_text("Rita Reader")
    await expect(page.locator("tbody tr")).to_have_count(4)
    await expect(page.get_by_role("link", name="Add Subscription")).to_have_count(0)
    await screenshot(page, "subscriptions-read-only.png")

    await page.get_by_role("link", name="Lovelace home fibre").click()
    await expect(page.get_by_role("heading", name="Lovelace home fibre")).to_be_visible()
    await expect(page.get_by_role("link", name="Services (0)")).to_be_visible()
    await expect(page.locator("main form")).to_have_count(0)

    refused = await page.goto("/admin/subscriptions/new")
    assert refused is not None and refused.status == 403


async def test_the_list_at_phone_width(browser: Browser, base_url: str, ui_tenant: Tenant) -> None:
    context = await browser.new_context(base_url=base_url, viewport=PHONE, is_mobile=True)
    page = await context.new_page()
    try:
        await sign_in(page, ui_tenant.admin_token)
        await expect(page.locator("tbody tr")).to_have_count(4)
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page scrolls sideways: {width} px wide"
        await screenshot(page, "subscriptions-phone.png")
    finally:
        await context.close()


async def test_the_engineer_filter_without_javascript(
    browser: Browser, base_url: str, ui_tenant: Tenant
) -> None:
    context = await browser.new_context(base_url=base_url, java_script_enabled=False)
    page = await context.new_page()
    try:
        await sign_in(page, ui_tenant.read_token)  # a read token filters too
        await page.get_by_label("Status").select_option("Cancelled")
        await page.get_by_label("Engineer").fill("hop")
        await page.get_by_role("button", name="Find engineer").click()
        await expect(page.get_by_role("heading", name="Choose engineer")).to_be_visible()
        await page.get_by_role("link", name="Choose Grace Hopper").click()
        await expect(page).to_have_url(re.compile(r"/admin/subscriptions\?"))
        rows = page.locator("tbody tr")
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_contain_text("Turing old cabin")
        await expect(page.get_by_label("Engineer")).to_have_value("Grace Hopper")
        await expect(page.get_by_label("Status")).to_have_value("Cancelled")
    finally:
        await context.close()


async def test_the_add_menu_by_keyboard(page: Page, ui_tenant: Tenant) -> None:
    await sign_in(page, ui_tenant.admin_token)
    toggle = page.get_by_role("button", name="More add options")
    menu_item = page.get_by_text("Import from Excel", exact=True)
    await toggle.focus()
    await page.keyboard.press("Enter")
    await expect(menu_item).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(menu_item).to_be_hidden()
    await page.keyboard.press("Space")
    await expect(menu_item).to_be_visible()
