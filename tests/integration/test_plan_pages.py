"""Administration → Plans and the plans of a subscription's services over HTTP, against the
in-process app, real PostgreSQL and NATS: the catalogue added, edited and retired (a refused form
keeps what was typed, each error by its field, never a 500), a service added on a plan with an
override, its plan changed now (the proration said) and for later (pending, then cancelled),
and what a read token sees.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from tests.integration.conftest import Browser, WebFactory
from tests.integration.test_directory_pages import link, location
from tests.integration.test_inner_edit_pages import (
    caught_up,
    dialog_form,
    dialog_html,
    field_in,
    opened,
    send,
)
from tests.integration.test_web_pages import field_html

HOME_30 = {
    "name": "Home 30",
    "price": "30.00",
    "currency": "USD",
    "cycle": "monthly",
    "download_max_mbps": "30",
    "upload_max_mbps": "10",
    "download_min_mbps": "",
    "upload_min_mbps": "",
    "qos_mode": "cake",
    "data_cap_gb": "",
}


async def _plan(browser: Browser, pool: asyncpg.Pool, **fields: str) -> str:
    """A plan added through the add form; its id."""
    form = await browser.get("/admin/plans/new")
    added = location(await browser.submit(form, "/admin/plans/new", {**HOME_30, **fields}))
    found = re.fullmatch(r"/admin/plans/([0-9a-f-]{36})\?saved=added", added)
    assert found, added
    await caught_up(pool)
    return found.group(1)


def _service_id(page: httpx.Response) -> str:
    found = re.search(r'id="dialog-edit-services-([0-9a-f-]{36})"', page.text)
    assert found, "no service on the page"
    return found.group(1)


async def test_the_catalogue_added_edited_and_retired_with_field_errors(
    browser: Browser, pool: asyncpg.Pool
) -> None:
    listing = await browser.get("/admin/plans")
    assert listing.status_code == 200 and "<h1>Plans</h1>" in listing.text
    assert 'href="/admin/plans" aria-current="page"' in listing.text
    form = await browser.get(link(listing, "Add plan"))
    assert "<h1>Add plan</h1>" in form.text
    assert '<option value="monthly" selected>' in field_html(form, "cycle")

    bad = {**HOME_30, "name": " ", "price": "thirty", "download_max_mbps": "fast"}
    refused = await browser.submit(form, "/admin/plans/new", bad)
    assert refused.status_code == 422
    assert "This field is required." in field_html(refused, "name")
    assert 'value="fast"' in field_html(refused, "download_max_mbps")
    assert 'class="field-error"' in field_html(refused, "download_max_mbps")
    # The decider's refusals come back by their field too, with what was typed.
    refused = await browser.submit(form, "/admin/plans/new", {**HOME_30, "price": "thirty"})
    assert refused.status_code == 422 and 'value="thirty"' in field_html(refused, "price")
    assert 'class="field-error"' in field_html(refused, "price")
    too_slow = {**HOME_30, "download_min_mbps": "31", "currency": "dollars"}
    refused = await browser.submit(form, "/admin/plans/new", too_slow)
    assert refused.status_code == 422 and 'class="field-error"' in (
        field_html(refused, "download_min_mbps") + field_html(refused, "currency")
    )

    plan_id = await _plan(browser, pool, price="30", data_cap_gb="500")
    page = await browser.get(f"/admin/plans/{plan_id}?saved=added")
    assert "<h1>Home 30</h1>" in page.text and "Plan added." in page.text
    assert "30.00 USD monthly" in page.text and "500 GB" in page.text

    edit = await browser.get(link(page, "Edit"))
    assert 'value="30.00"' in field_html(edit, "price")
    blank = await browser.submit(edit, f"/admin/plans/{plan_id}/edit", {**HOME_30, "price": ""})
    assert blank.status_code == 422 and "required" in field_html(blank, "price")
    changed = {**HOME_30, "name": "Home 35", "price": "35.5", "data_cap_gb": ""}
    edited = await browser.submit(edit, f"/admin/plans/{plan_id}/edit", changed)
    assert location(edited).endswith("saved=edited")
    await caught_up(pool)
    plan = (await browser.api.get(f"/api/v1/plans/{plan_id}")).json()
    assert (plan["name"], plan["price"], plan["data_cap_gb"]) == ("Home 35", "35.50", None)

    page = await browser.get(f"/admin/plans/{plan_id}")
    long_reason = await browser.submit(
        page, f"/admin/plans/{plan_id}/retire", {"reason": "x" * 600}
    )
    assert long_reason.status_code == 422 and "x" * 600 in long_reason.text
    retired = await browser.submit(page, f"/admin/plans/{plan_id}/retire", {"reason": "replaced"})
    assert location(retired).endswith("saved=retired")
    await caught_up(pool)
    page = await browser.get(f"/admin/plans/{plan_id}")
    assert (
        "Retired" in page.text and "replaced" in page.text and ">Retire</button>" not in page.text
    )

    offered = await browser.get("/admin/plans")
    assert "Home 35" not in offered.text
    everything = await browser.get("/admin/plans?show=all&q=home")
    assert "Home 35" in everything.text and "entry-inactive" in everything.text
    assert "No plans match" in (await browser.get("/admin/plans?q=fibre")).text
    assert (await browser.get("/admin/plans?cursor=nonsense")).status_code == 200
    assert (await browser.get(f"/admin/plans/{plan_id}x")).status_code == 404


async def test_a_service_on_a_plan_with_an_override_then_its_plan_changed_now(
    browser: Browser, pool: asyncpg.Pool
) -> None:
    home_30 = await _plan(browser, pool)
    home_50 = await _plan(
        browser, pool, name="Home 50", price="50.00", download_max_mbps="50",
        upload_max_mbps="20",
    )  # fmt: skip
    _, url = await opened(browser, pool)
    page = await browser.get(f"{url}?tab=services")
    assert "Custom plan (name and rates below)" in field_in(page, "services", "plan_id")
    assert "Home 30 — 30/10 Mbps, 30.00 USD monthly" in field_in(page, "services", "plan_id")

    custom = await send(browser, page, "services", f"{url}/services", pppoe_username="x1")
    assert custom.status_code == 422  # a custom plan needs its name and rates
    assert "This field is required." in field_in(custom, "services", "plan")
    assert "This field is required." in field_in(custom, "services", "download_max_mbps")
    assert 'value="x1"' in field_in(custom, "services", "pppoe_username")

    added = await send(
        browser, page, "services", f"{url}/services",
        plan_id=home_30, upload_max_mbps="15", pppoe_username="on-plan",
    )  # fmt: skip
    assert added.status_code == 303, added.text
    await caught_up(pool)
    page = await browser.get(f"{url}?tab=services")
    assert "Home 30" in page.text and "catalogue plan" in page.text
    assert "30 / 15" in page.text and "(upload override)" in page.text
    service_id = _service_id(page)

    # The edit form fills in the override only; what it follows of the plan is left empty.
    key = f"edit-services-{service_id}"
    form = dialog_form(page, key)
    assert (form["upload_max_mbps"], form["download_max_mbps"]) == ("15", "")
    assert "plan" not in form
    assert "the plan's (30)" in field_in(page, key, "download_max_mbps")
    back = await send(browser, page, key, f"{url}/services/{service_id}", upload_max_mbps="")
    assert back.status_code == 303, back.text
    await caught_up(pool)
    page = await browser.get(f"{url}?tab=services")
    assert "30 / 10" in page.text and "(plan)" in page.text and "override)" not in page.text

    change = f"plan-services-{service_id}"
    assert "Home 30 —" not in field_in(page, change, "plan_id")  # the plan it is on
    bad = await send(
        browser, page, change, f"{url}/services/{service_id}/plan", plan_id="not-a-plan"
    )
    assert bad.status_code == 422 and 'class="field-error"' in field_in(bad, change, "plan_id")
    moved = await send(browser, page, change, f"{url}/services/{service_id}/plan", plan_id=home_50)
    assert moved.status_code == 303, moved.text
    assert re.search(r"\?tab=services&changed=\d+#tab$", moved.headers["location"])
    await caught_up(pool)
    after = await browser.get(moved.headers["location"])
    said = re.search(r'<p class="saved" role="status">(.*?)</p>', after.text)
    assert said and "Service plan changed from Home 30 to Home 50" in said.group(1)
    assert "credit" in said.group(1) and "charge" in said.group(1)
    assert "50 / 20" in after.text


async def test_a_plan_change_for_later_shown_pending_and_cancelled(
    browser: Browser, pool: asyncpg.Pool
) -> None:
    home_30 = await _plan(browser, pool)
    await _plan(browser, pool, name="Home 50", price="50.00", download_max_mbps="50")
    _, url = await opened(browser, pool)
    page = await browser.get(f"{url}?tab=services")
    added = await send(browser, page, "services", f"{url}/services", plan_id=home_30)
    assert added.status_code == 303, added.text
    await caught_up(pool)
    page = await browser.get(f"{url}?tab=services")
    service_id = _service_id(page)
    change, action = f"plan-services-{service_id}", f"{url}/services/{service_id}/plan"
    home_50 = re.search(r'<option value="([0-9a-f-]{36})">Home 50', dialog_html(page, change))
    assert home_50

    no_date = await send(browser, page, change, action, plan_id=home_50.group(1), effective="date")
    assert no_date.status_code == 422
    assert "Choose the date" in field_in(no_date, change, "effective_at")
    past = await send(
        browser, page, change, action, plan_id=home_50.group(1), effective="date",
        effective_at="2020-01-01T10:00", tz_offset="-180",
    )  # fmt: skip
    assert past.status_code == 422 and "must lie ahead" in field_in(past, change, "effective_at")
    assert 'value="2020-01-01T10:00"' in field_in(past, change, "effective_at")

    later = (datetime.now(UTC) + timedelta(days=40)).replace(second=0, microsecond=0)
    scheduled = await send(
        browser, page, change, action, plan_id=home_50.group(1), effective="date",
        effective_at=later.strftime("%Y-%m-%dT%H:%M"), tz_offset="0",
    )  # fmt: skip
    assert scheduled.status_code == 303, scheduled.text
    await caught_up(pool)
    page = await browser.get(f"{url}?tab=services")
    pending = re.search(r'<p class="pending-plan">(.*?)</p>', page.text, re.S)
    assert pending and "Home 50" in pending.group(1)
    assert later.strftime("%Y-%m-%d %H:%M") in pending.group(1)
    assert "30 / 10" in page.text  # not yet moved

    cancel = f"cancel-plan-{service_id}"
    assert "Cancel pending change" in page.text
    assert "instead of moving to Home 50" in dialog_html(page, cancel)
    cancelled = await send(browser, page, cancel, f"{action}/cancel")
    assert cancelled.status_code == 303, cancelled.text
    await caught_up(pool)
    page = await browser.get(f"{url}?tab=services")
    assert 'class="pending-plan"' not in page.text and f"dialog-{cancel}" not in page.text

    next_cycle = await send(
        browser, page, change, action, plan_id=home_50.group(1), effective="next_cycle"
    )
    assert next_cycle.status_code == 303, next_cycle.text
    await caught_up(pool)
    page = await browser.get(f"{url}?tab=services")
    assert "00:00 UTC" in re.search(r'<p class="pending-plan">(.*?)</p>', page.text, re.S)[0]


async def test_a_read_token_sees_the_plans_and_no_action(
    browser: Browser, web: WebFactory, pool: asyncpg.Pool
) -> None:
    plan_id = await _plan(browser, pool)
    _, url = await opened(browser, pool)
    page = await browser.get(f"{url}?tab=services")
    assert (await send(browser, page, "services", f"{url}/services", plan_id=plan_id)).is_redirect
    await caught_up(pool)
    service_id = _service_id(await browser.get(f"{url}?tab=services"))

    reader = await web(browser.tenant_id, "read")
    listing = await reader.get("/admin/plans")
    assert "Home 30" in listing.text and "Add plan" not in listing.text
    page = await reader.get(f"/admin/plans/{plan_id}")
    assert "<h1>Home 30</h1>" in page.text
    assert "/edit" not in page.text and "/retire" not in page.text
    assert (await reader.get("/admin/plans/new")).status_code == 403
    forged = await reader.submit(listing, f"/admin/plans/{plan_id}/retire", {})
    assert forged.status_code == 403
    services = await reader.get(f"{url}?tab=services")
    assert "Home 30" in services.text and "<dialog" not in services.text
    forged = await reader.submit(
        listing, f"{url}/services/{service_id}/plan", {"plan_id": plan_id, "effective": "now"}
    )
    assert forged.status_code == 403
