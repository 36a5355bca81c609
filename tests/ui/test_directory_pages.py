"""Administration's directory pages and the Add Subscription form's pickers in headless chromium:
typing into a picker, adding a contact from the form and coming back to it, choosing without
JavaScript, and a contact's page with its subscriptions."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect

from tests.ui.browsing import pick, screenshot, sign_in
from tests.ui.conftest import DESKTOP, Tenant

pytestmark = pytest.mark.ui


async def test_typing_into_a_picker_lists_matches_and_chooses_one(
    page: Page, ui_tenant: Tenant
) -> None:
    await sign_in(page, ui_tenant.admin_token)
    await page.goto("/admin/subscriptions/new")
    contact = page.get_by_label("Contact")
    await contact.fill("tur")
    matches = page.get_by_role("listbox").get_by_role("option")
    await expect(matches).to_have_count(1)
    await expect(matches.first).to_contain_text("Alan Turing")
    await contact.fill("a")  # both contacts have an "a"
    await expect(matches).to_have_count(2)
    await screenshot(page, "add-subscription-picker.png")
    await contact.press("ArrowDown")  # the second match, by keyboard
    await contact.press("Enter")
    await expect(contact).to_have_value("Alan Turing")
    await expect(page.get_by_role("listbox")).to_be_hidden()
    chosen = page.locator('input[type="hidden"][name="contact_id"]')
    await expect(chosen).to_have_value(ui_tenant.ids["Alan Turing"])

    await pick(page, "Engineer", "kath", "Katherine Johnson")
    await page.get_by_label("Subscription Name").fill("Turing garden shed")
    await page.get_by_label("Subscription Name").press("Enter")  # Enter saves, not "Find"
    await expect(page.get_by_role("heading", name="Turing garden shed")).to_be_visible()
    await expect(page.locator("main")).to_contain_text("Katherine Johnson")


async def test_add_a_contact_from_the_form_and_come_back(page: Page, ui_tenant: Tenant) -> None:
    await sign_in(page, ui_tenant.admin_token)
    await page.goto("/admin/subscriptions/new")
    await page.get_by_label("Subscription Name").fill("Newcomer rooftop")
    await pick(page, "Engineer", "grace", "Grace Hopper")
    await page.get_by_label("Contact").fill("Mary Jackson")
    await page.get_by_role("button", name="Add a contact").click()

    await expect(page.get_by_role("heading", name="Add contact")).to_be_visible()
    await expect(page.get_by_label("Name")).to_have_value("Mary Jackson")
    await page.get_by_label("Email").fill("mary@example.com")
    await screenshot(page, "add-contact.png")
    await page.get_by_role("button", name="Save", exact=True).click()

    await expect(page.get_by_role("heading", name="Add Subscription")).to_be_visible()
    await expect(page.get_by_label("Contact")).to_have_value("Mary Jackson")
    await expect(page.get_by_label("Subscription Name")).to_have_value("Newcomer rooftop")
    await expect(page.get_by_label("Engineer")).to_have_value("Grace Hopper")
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.get_by_role("heading", name="Newcomer rooftop")).to_be_visible()


async def test_choosing_without_javascript(
    browser: Browser, base_url: str, ui_tenant: Tenant
) -> None:
    context = await browser.new_context(
        base_url=base_url, viewport=DESKTOP, java_script_enabled=False
    )
    page = await context.new_page()
    try:
        await sign_in(page, ui_tenant.admin_token)
        await page.goto("/admin/subscriptions/new")
        await page.get_by_label("Subscription Name").fill("Quiet cabin")
        await page.get_by_label("Contact").fill("love")
        await page.get_by_role("button", name="Find contact").click()
        await expect(page.get_by_role("heading", name="Choose contact")).to_be_visible()
        await expect(page.locator("tbody tr")).to_have_count(1)
        await screenshot(page, "pick-contact.png")
        await page.get_by_role("link", name="Choose Ada Lovelace").click()
        await expect(page.get_by_label("Contact")).to_have_value("Ada Lovelace")
        await expect(page.get_by_label("Subscription Name")).to_have_value("Quiet cabin")
    finally:
        await context.close()


async def test_the_directory_pages(page: Page, ui_tenant: Tenant) -> None:
    await sign_in(page, ui_tenant.admin_token)
    await page.get_by_role("link", name="Contacts", exact=True).click()
    await expect(page.get_by_role("heading", name="Contacts")).to_be_visible()
    await expect(page.locator("tbody tr")).to_have_count(2)
    await screenshot(page, "contacts.png")
    await page.get_by_label("Search").fill("turing")
    await page.get_by_role("button", name="Apply").click()
    await expect(page.locator("tbody tr")).to_have_count(1)

    await page.get_by_role("link", name="Alan Turing").click()
    await expect(page.get_by_role("heading", name="Alan Turing")).to_be_visible()
    subscriptions = page.get_by_role("region", name="Subscriptions with this contact")
    await expect(subscriptions.locator("tbody tr")).to_have_count(2)
    await page.get_by_label("Reason").fill("Moved to another ISP")
    await page.get_by_role("button", name="Deactivate").click()
    await expect(page.get_by_text("Contact deactivated.")).to_be_visible()
    await expect(subscriptions.locator("tbody tr")).to_have_count(2)  # they keep it
    await screenshot(page, "contact.png", full_page=True)
    await page.get_by_role("button", name="Reactivate").click()
    await expect(page.get_by_text("Contact reactivated.")).to_be_visible()

    await page.get_by_role("link", name="Edit").click()
    await page.get_by_label("Phone").fill("+44 20 7946 0001")
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.get_by_text("Contact edited.")).to_be_visible()
    await expect(page.locator(".facts")).to_contain_text("+44 20 7946 0001")

    await page.get_by_role("link", name="Service Contracts", exact=True).click()
    await page.get_by_role("link", name="Add service contract").click()
    await page.get_by_label("Number").fill("SC-2")
    await page.get_by_label("Title").fill("Wireless 30")
    await page.get_by_label("Starts on").fill("first of May")
    await page.get_by_role("button", name="Save", exact=True).click()
    starts = page.locator(".field", has=page.get_by_label("Starts on"))
    await expect(starts.locator(".field-error")).to_be_visible()
    await page.get_by_label("Starts on").fill("2026-05-01")
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.get_by_role("heading", name=re.compile("SC-2"))).to_be_visible()


async def test_a_read_token_sees_the_directory_without_actions(
    page: Page, ui_tenant: Tenant
) -> None:
    await sign_in(page, ui_tenant.read_token)
    await page.goto("/admin/engineers")
    await expect(page.locator("tbody tr")).to_have_count(2)
    await expect(page.get_by_role("link", name="Add engineer")).to_have_count(0)
    await page.get_by_role("link", name="Grace Hopper").click()
    await expect(page.get_by_role("heading", name="Grace Hopper")).to_be_visible()
    await expect(page.locator("main form")).to_have_count(0)
    await expect(page.get_by_role("link", name="Edit")).to_have_count(0)
