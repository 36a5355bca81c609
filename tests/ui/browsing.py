"""What the browser tests do on every page: sign in, keep a screenshot for the README, and choose
an entry in a picker."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.conftest import ROOT

SCREENSHOTS = ROOT / "docs" / "screenshots"
PHONE = {"width": 375, "height": 740}


async def sign_in(page: Page, token: str) -> None:
    """Sign in through the sign-in page, as a person would."""
    await page.goto("/login")
    await page.get_by_label("Access token").fill(token)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/admin/subscriptions")


async def screenshot(page: Page, name: str, full_page: bool = False) -> None:
    """The page as it looks now, kept under docs/screenshots/ for the README."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / name, full_page=full_page, animations="disabled")


async def pick(page: Page, label: str, typed: str, option: str) -> None:
    """Type into a picker (a directory field of a form) and click one of its matches."""
    box = page.get_by_label(label)
    await box.fill(typed)
    matches = page.locator(".picker", has=box).get_by_role("option")
    await matches.filter(has_text=re.compile(rf"^{re.escape(option)}")).click()
    await expect(box).to_have_value(option)
