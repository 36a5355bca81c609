"""Spreadsheets through the admin pages, in headless chromium: an import followed to its end with
its row errors, and an export of the filtered list."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.async_api import Download, Locator, Page, expect

from tests.importer.workbooks import HEADERS, xlsx
from tests.ui.browsing import screenshot, sign_in
from tests.ui.conftest import Tenant

pytestmark = pytest.mark.ui

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
GOOD_ROWS = 12
BAD_ROW = 8  # the spreadsheet's own row number: the header is row 1
UNKNOWN_ENGINEER = "Nobody Known"


def customers() -> bytes:
    """Twelve subscriptions to create and, on row 8, one whose engineer does not exist."""
    good = ["Ada Lovelace", "Acme Wireless", "Active", "Grace Hopper", "SC-1", ""]
    rows = [["", f"Imported customer {n:02}", *good] for n in range(1, GOOD_ROWS + 1)]
    bad = ["", "Customer of nobody", "Alan Turing", "", "Active", UNKNOWN_ENGINEER, "", ""]
    rows.insert(BAD_ROW - 2, bad)
    return xlsx([HEADERS, *rows])


async def test_an_import_with_its_progress_and_row_errors(page: Page, ui_tenant: Tenant) -> None:
    await sign_in(page, ui_tenant.admin_token)
    await page.get_by_role("button", name="More add options").click()
    await page.get_by_text("Import from Excel", exact=True).click()
    await expect(page.get_by_role("heading", name="Import from Excel")).to_be_visible()
    await expect(page.get_by_role("link", name="Download the template")).to_be_visible()
    await screenshot(page, "import-upload.png")

    upload = {"name": "customers.xlsx", "mimeType": XLSX_TYPE, "buffer": customers()}
    await page.get_by_label("Spreadsheet (.xlsx)").set_input_files(files=upload)
    await page.get_by_role("button", name="Upload").click()
    await expect(page).to_have_url(re.compile(r"/admin/imports/[0-9a-f-]+$"))
    await expect(page.get_by_role("heading", name="Import")).to_be_visible()

    # The page polls the job, moves the bar and fills the errors in itself: no reload here.
    await expect(page.locator("#import-state")).to_have_text("completed", timeout=60_000)
    bar = page.locator("#import-progress")
    assert await bar.evaluate("bar => [bar.value, bar.max]") == [GOOD_ROWS + 1, GOOD_ROWS + 1]
    await expect(page.locator("#import-created")).to_have_text(str(GOOD_ROWS))
    await expect(page.locator("#import-failed")).to_have_text("1")
    errors = page.locator("table", has=page.get_by_role("columnheader", name="Message"))
    error_row = errors.locator("tbody tr")
    await expect(error_row).to_have_count(1)
    await expect(error_row.locator("td").nth(0)).to_have_text(str(BAD_ROW))
    await expect(error_row.locator("td").nth(1)).to_have_text("Engineer")
    await expect(error_row.locator("td").nth(2)).to_contain_text(UNKNOWN_ENGINEER)
    await screenshot(page, "import.png")

    report = await downloaded(page, page.get_by_role("link", name="Download rows with errors"))
    names = [row[1] for row in rows_of(await report_bytes(report))[1:]]
    assert names == ["Customer of nobody"]

    await page.goto("/admin/subscriptions?q=Imported")
    await expect(page.locator("tbody tr")).to_have_count(GOOD_ROWS)


async def test_the_export_honours_the_status_filter(page: Page, ui_tenant: Tenant) -> None:
    await sign_in(page, ui_tenant.admin_token)
    await page.get_by_label("Status").select_option("Suspended")
    await page.get_by_role("button", name="Apply").click()
    await expect(page.locator("tbody tr")).to_have_count(1)

    await page.get_by_role("button", name="More add options").click()
    xlsx_link = page.get_by_text("Export to XLSX", exact=True)
    await expect(xlsx_link).to_have_attribute("href", re.compile(r"export\.xlsx\?.*Suspended"))
    export = await downloaded(page, page.get_by_text("Export to CSV", exact=True))
    assert export.suggested_filename.endswith(".csv")

    text = (await report_bytes(export)).decode("utf-8-sig")
    listed = list(csv.DictReader(io.StringIO(text)))
    assert [(row["Subscription Name"], row["Status"]) for row in listed] == [
        ("Turing office link", "Suspended")
    ]


async def downloaded(page: Page, link: Locator) -> Download:
    """What the browser saves when the link is followed."""
    async with page.expect_download() as started:
        await link.click()
    return await started.value


async def report_bytes(download: Download) -> bytes:
    path = await download.path()
    return await asyncio.to_thread(Path(path).read_bytes)


def rows_of(content: bytes) -> list[tuple[object, ...]]:
    sheet = load_workbook(io.BytesIO(content), read_only=True).active
    assert sheet is not None
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]
