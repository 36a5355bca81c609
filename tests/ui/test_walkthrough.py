"""A new ISP's whole day in the browser, without the API: a fresh tenant signs in, fills its
directory, creates a subscription and edits everything on it, bills it, takes and refunds a
payment, cancels and reopens it, then imports a thousand customers and changes the status of
all of them with one bulk change that runs to completion."""

from __future__ import annotations

import re

import asyncpg
import pytest
from playwright.async_api import Locator, Page, expect

from services.subscription.access import tokens
from tests.importer.workbooks import HEADERS, xlsx
from tests.ui.browsing import pick, screenshot, sign_in

pytestmark = pytest.mark.ui

TENANT = "isp-walkthrough"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CUSTOMERS = 1_000
BULK_SECONDS = 180_000  # ms: a thousand rows in batches of five on a shared 2-core machine


@pytest.fixture
async def fresh_token(ui_database_url: str, base_url: str) -> str:
    """An admin token of a tenant that holds nothing at all: no directory, no subscriptions."""
    conn = await asyncpg.connect(ui_database_url)
    try:
        token, _ = await tokens.create(conn, "Nia Newcomer", TENANT, "admin")
    finally:
        await conn.close()
    return token


async def test_a_fresh_tenant_does_the_whole_job_in_the_browser(
    page: Page, fresh_token: str
) -> None:
    await sign_in(page, fresh_token)
    await expect(page.locator("td.empty")).to_have_text("No subscriptions match these filters.")

    await _add_entry(
        page, "Contacts", "Add contact", {"Name": "Wanjiru Kamau", "Email": "wanjiru@example.com"}
    )
    await _add_entry(page, "Organizations", "Add organization", {"Name": "Kamau Farms"})
    await _add_entry(page, "Engineers", "Add engineer", {"Name": "Otieno Field"})
    await _add_entry(
        page, "Service Contracts", "Add service contract", {"Number": "SC-7", "Title": "Rural 50"}
    )

    # The subscription, its references chosen by typing.
    await page.get_by_role("link", name="Subscriptions", exact=True).click()
    await page.get_by_role("link", name="Add Subscription").click()
    await pick(page, "Contact", "wanj", "Wanjiru Kamau")
    await pick(page, "Organization", "kamau", "Kamau Farms")
    await page.get_by_label("Subscription Name").fill("Kamau farmhouse")
    await page.get_by_label("Status").select_option("Active")
    await pick(page, "Engineer", "otie", "Otieno Field")
    await pick(page, "Service Contract", "sc-7", "SC-7 — Rural 50")
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.get_by_role("heading", name="Kamau farmhouse")).to_be_visible()
    badge = page.locator(".page-head .badge")
    await expect(badge).to_have_text("Active")

    # Edit it.
    await page.get_by_role("link", name="Edit subscription").click()
    edit = page.get_by_role("dialog", name="Edit subscription")
    await edit.get_by_label("Subscription Name").fill("Kamau farmhouse and barn")
    await edit.get_by_label("Description").fill("Sector antenna on the barn roof")
    await edit.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_role("heading", name="Kamau farmhouse and barn")).to_be_visible()
    await expect(page.locator(".facts")).to_contain_text("Sector antenna on the barn roof")

    # A service with its QoS mode, then edited.
    await page.get_by_role("link", name="Services (0)").click()
    await page.get_by_role("link", name="Add service").click()
    service = page.get_by_role("dialog", name="Add service")
    await _fill(
        service,
        {
            "Plan": "Rural 50",
            "Download max Mbps": "50",
            "Upload max Mbps": "10",
            "Download min Mbps": "20",
            "Upload min Mbps": "5",
            "QoS mode": "cake",
            "IPv4 addresses": "198.51.100.40",
            "PPPoE username": "kamau-farm",
            "Installation address": "Plot 12, Limuru road",
        },
    )
    await service.get_by_role("button", name="Add service").click()
    row = page.locator("tbody tr", has_text="kamau-farm")
    await expect(row).to_contain_text("cake")
    await row.get_by_role("link", name="Edit service Rural 50").click()
    service_edit = page.get_by_role("dialog", name="Edit service Rural 50")
    await service_edit.get_by_label("QoS mode").fill("fq_codel")
    await service_edit.get_by_role("button", name="Save changes").click()
    await expect(row).to_contain_text("fq_codel")

    # Billing, a payment and its refund.
    await page.get_by_role("link", name=re.compile(r"^Details \(")).click()
    await page.get_by_role("link", name="Billing details").click()
    billing = page.get_by_role("dialog", name="Billing details")
    await _fill(
        billing,
        {"Plan": "Rural 50", "Price": "35.00", "Currency": "USD", "Billing day": "5"},
    )
    await billing.get_by_label("Cycle").select_option("monthly")
    await billing.get_by_role("button", name="Save billing details").click()
    await expect(page.locator("main")).to_contain_text("35.00")

    await page.get_by_role("link", name="Add payment").click()
    payment = page.get_by_role("dialog", name="Add payment")
    await _fill(payment, {"Amount": "35.00", "Currency": "USD", "Method": "M-Pesa"})
    await payment.get_by_label("Reference").fill("QK7X2")
    await payment.get_by_label(re.compile("^Paid at")).fill("2026-12-01T10:00")
    await payment.get_by_role("button", name="Add payment").click()
    # The payment's row in the payments table (the account's lines list it too), with its Refund.
    refund_link = page.get_by_role("link", name=re.compile("^Refund payment"))
    payments = page.locator("tbody tr", has_text="QK7X2").filter(has=refund_link)
    await expect(payments).to_have_count(1)
    await payments.get_by_role("link", name=re.compile("^Refund payment")).click()
    refund = page.get_by_role("dialog", name=re.compile("Refund payment"))
    await refund.get_by_label("Amount").fill("10.00")
    await refund.get_by_label("Reason").fill("Outage credit")
    await refund.get_by_role("button", name="Record refund").click()
    await expect(payments).to_contain_text("10.00: Outage credit")
    await screenshot(page, "walkthrough-details.png", full_page=True)

    # Cancelled by mistake, and reopened.
    await page.get_by_role("link", name="Change status").click()
    status = page.get_by_role("dialog", name="Change status")
    await status.locator("select[name=status]").select_option("Cancelled")
    await status.get_by_label("Reason").fill("Customer moved")
    await status.get_by_role("button", name="Change status").click()
    await expect(badge).to_have_text("Cancelled")
    await page.get_by_role("link", name="Reopen subscription").click()
    reopen = page.get_by_role("dialog", name="Reopen subscription")
    await reopen.get_by_label("Reason").fill("Cancelled the wrong farm")
    await reopen.get_by_role("button", name="Reopen").click()
    await expect(badge).to_have_text("Inactive")
    await page.get_by_role("link", name=re.compile(r"^History \(")).click()
    await expect(page.locator("main")).to_contain_text("Cancelled the wrong farm")

    # A thousand customers from a spreadsheet, then one bulk change over a filter of them.
    await page.goto("/admin/imports/new")
    upload = {"name": "customers.xlsx", "mimeType": XLSX_TYPE, "buffer": _customers()}
    await page.get_by_label("Spreadsheet (.xlsx)").set_input_files(files=upload)
    await page.get_by_role("button", name="Upload").click()
    await expect(page.locator("#import-state")).to_have_text("completed", timeout=BULK_SECONDS)
    await expect(page.locator("#import-created")).to_have_text(str(CUSTOMERS))

    await page.goto("/admin/subscriptions?q=Imported+customer&status=Inactive")
    await page.get_by_label(re.compile(f"all {CUSTOMERS:,} matching this filter")).check()
    await page.get_by_label("Bulk action").select_option("status")
    await page.get_by_label("Move to").select_option("Active")
    await page.get_by_label("Why (recorded on each)").fill("Tower 3 switched on")
    await page.get_by_role("button", name="Run bulk change").click()
    await expect(page).to_have_url(re.compile(r"/admin/bulk/[0-9a-f-]+$"))
    await expect(page.locator("#bulk-state")).to_have_text("completed", timeout=BULK_SECONDS)
    await expect(page.locator("#bulk-changed")).to_have_text(str(CUSTOMERS))
    await expect(page.locator("#bulk-refused")).to_have_text("0")

    await page.goto("/admin/subscriptions?q=Imported+customer&status=Active")
    await expect(page.get_by_text(re.compile(f"all {CUSTOMERS:,} matching"))).to_have_count(1)
    await page.goto("/admin/subscriptions?status=Inactive")
    await expect(page.locator("tbody tr")).to_have_count(1)  # the reopened farmhouse


async def _add_entry(page: Page, menu: str, button: str, values: dict[str, str]) -> None:
    """Administration → `menu` → add an entry; its page shows it."""
    await (
        page.get_by_role("navigation", name="Administration").get_by_role("link", name=menu).click()
    )
    await page.get_by_role("link", name=button).click()
    form = page.get_by_role("form", name=re.compile(f"^{button}$", re.IGNORECASE))
    await _fill(form, values)
    await form.get_by_role("button", name="Save", exact=True).click()
    first = next(iter(values.values()))
    await expect(page.locator("main")).to_contain_text(first)


async def _fill(scope: Locator | Page, values: dict[str, str]) -> None:
    for label, value in values.items():
        await scope.get_by_label(re.compile(f"^{re.escape(label)}\\b")).fill(value)


def _customers() -> bytes:
    """A thousand Inactive subscriptions of the tenant's one contact and engineer."""
    row = ["Wanjiru Kamau", "Kamau Farms", "Inactive", "Otieno Field", "SC-7", ""]
    rows = [["", f"Imported customer {n:04}", *row] for n in range(1, CUSTOMERS + 1)]
    return xlsx([HEADERS, *rows])
