"""Editing everything from a subscription's inner page over HTTP, against the in-process app, real
PostgreSQL and NATS: the subscription's fields at the version the form was opened (a conflict
keeps what was typed and shows what changed), services with every field, hotspot accounts and
devices edited and removed, billing, refunds, reopening, and what a read token sees.

Each form sits in a `<dialog>` of the page; a test posts the dialog's own fields (its hidden
version and opened values included), as a browser would, with the changes a person makes.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser
from typing import Any

import asyncpg
import httpx

from tests.integration.conftest import Browser, WebFactory, new_subscription, project


class _Form(HTMLParser):
    """The fields of one dialog's form as a browser would send them."""

    def __init__(self, dialog_id: str) -> None:
        super().__init__()
        self.dialog_id = dialog_id
        self.inside = False
        self.values: dict[str, str] = {}
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "dialog" and a.get("id") == self.dialog_id:
            self.inside = True
        if not self.inside:
            return
        if tag == "input" and "name" in a:
            self.values[a["name"]] = a.get("value", "")
        elif tag == "select":
            self.select = a["name"]
            self.values.setdefault(a["name"], "")
        elif tag == "option" and self.select and "selected" in a:
            self.values[self.select] = a.get("value", "")
        elif tag == "textarea":
            self.textarea = a["name"]
            self.values[a["name"]] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "dialog":
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.inside and self.textarea:
            self.values[self.textarea] += data


def dialog_form(page: httpx.Response, key: str) -> dict[str, str]:
    """What the dialog `key` would send untouched: its hidden fields and shown values."""
    assert f'id="dialog-{key}"' in page.text, f"no dialog {key} on the page"
    parser = _Form(f"dialog-{key}")
    parser.feed(page.text)
    return parser.values


def dialog_html(page: httpx.Response, key: str) -> str:
    found = re.search(rf'<dialog id="dialog-{re.escape(key)}".*?</dialog>', page.text, re.S)
    assert found, f"no dialog {key} on the page"
    return found.group(0)


def field_in(page: httpx.Response, key: str, name: str) -> str:
    """One field's wrapper inside the dialog `key`."""
    found = re.search(
        rf'<div class="field[^"]*" data-field="{name}">(.*?)</div>', dialog_html(page, key), re.S
    )
    assert found, f"no field {name} in dialog {key}"
    return unescape(found.group(1))


async def send(
    browser: Browser, page: httpx.Response, key: str, action: str, **changes: str
) -> httpx.Response:
    """Post the dialog `key` of `page` with `changes` typed into it."""
    data = {**dialog_form(page, key), **changes}
    return await browser.post(action, data=data)


async def caught_up(pool: asyncpg.Pool) -> None:
    await project(pool, int(await pool.fetchval("select max(position) from events.events")))


async def opened(
    browser: Browser, pool: asyncpg.Pool, **overrides: Any
) -> tuple[dict[str, Any], str]:
    created = await new_subscription(browser.api, **overrides)
    await caught_up(pool)
    return created, f"/admin/subscriptions/{created['id']}"


async def test_edit_the_subscriptions_fields_and_bad_input_names_the_field(
    browser: Browser, pool: asyncpg.Pool
) -> None:
    created, url = await opened(browser, pool, description="Old mast")
    page = await browser.get(f"{url}?open=edit")
    assert re.search(r'<dialog id="dialog-edit"[^>]* open>', page.text)
    form = dialog_form(page, "edit")
    assert form["name"] == "Home 50M" and form["version"] == "1"
    assert form["organization_id"] == created["refs"]["organization_id"]

    blank = await send(browser, page, "edit", f"{url}/edit", name=" ", description="New mast")
    assert blank.status_code == 422
    assert "This field is required." in field_in(blank, "edit", "name")
    assert "New mast</textarea>" in field_in(blank, "edit", "description")
    assert re.search(r'<dialog id="dialog-edit"[^>]* open>', blank.text)
    bad = await send(browser, page, "edit", f"{url}/edit", contact_id="not-an-id")
    assert bad.status_code == 422 and 'class="field-error"' in field_in(bad, "edit", "contact_id")

    done = await send(
        browser, page, "edit", f"{url}/edit",
        name="Home 100M", organization_id="", organization_id_search="",
        description="Mast on the barn",
    )  # fmt: skip
    assert done.status_code == 303, done.text
    await caught_up(pool)
    summary = (await browser.api.get(f"/api/v1/subscriptions/{created['id']}")).json()
    assert summary["name"] == "Home 100M" and summary["organization"] is None
    assert summary["description"] == "Mast on the barn"
    assert summary["contact"]["id"] == created["refs"]["contact_id"]  # untouched


async def test_the_edit_forms_pickers_find_an_entry_and_come_back_with_it(
    browser: Browser, pool: asyncpg.Pool
) -> None:
    created, url = await opened(browser, pool)
    other = await browser.api.post("/api/v1/contacts", json={"name": "Zoe Quist"})
    engineer = await browser.api.post("/api/v1/engineers", json={"name": "Yuri Pell"})
    assert other.status_code == 201 and engineer.status_code == 201
    await caught_up(pool)
    page = await browser.get(url)
    assert 'name="contact_id_search"' in dialog_html(page, "edit")
    assert 'value="Jane Doe"' in field_in(page, "edit", "contact_id")
    assert 'value="Alice Ng"' in field_in(page, "engineer", "engineer_id")

    # Without JavaScript: "Find contact" leaves for the choose page, what was typed kept.
    away = await send(
        browser, page, "edit", f"{url}/edit",
        then="pick:contact_id", contact_id_search="Zoe", description="Typed before finding",
    )  # fmt: skip
    assert away.status_code == 303 and away.headers["location"].startswith("/admin/pick/contacts")
    chooser = await browser.get(away.headers["location"])
    assert chooser.status_code == 200 and "Zoe Quist" in chooser.text
    choose = re.search(r'href="([^"]+)" aria-label="Choose Zoe Quist"', chooser.text)
    assert choose, chooser.text
    back = await browser.get(unescape(choose.group(1)))
    assert back.status_code == 200
    assert re.search(r'<dialog id="dialog-edit"[^>]* open>', back.text)
    assert 'value="Zoe Quist"' in field_in(back, "edit", "contact_id")
    assert "Typed before finding</textarea>" in field_in(back, "edit", "description")
    assert dialog_form(back, "edit")["version"] == "1"

    saved = await send(browser, back, "edit", f"{url}/edit")
    assert saved.status_code == 303, saved.text
    # A box with text but no entry chosen is the field's error, not a silent blank.
    unchosen = await send(
        browser, page, "engineer", f"{url}/engineer", engineer_id="", engineer_id_search="Yuri"
    )
    assert unchosen.status_code == 422
    assert "Choose" in field_in(unchosen, "engineer", "engineer_id")
    assigned = await send(
        browser, page, "engineer", f"{url}/engineer",
        engineer_id=engineer.json()["id"], engineer_id_search="Yuri Pell",
    )  # fmt: skip
    assert assigned.status_code == 303, assigned.text
    await caught_up(pool)
    summary = (await browser.api.get(f"/api/v1/subscriptions/{created['id']}")).json()
    assert summary["contact"]["name"] == "Zoe Quist"
    assert summary["engineer"]["name"] == "Yuri Pell"
    assert summary["description"] == "Typed before finding"


async def test_a_conflicting_edit_keeps_what_was_typed_and_shows_what_changed(
    browser: Browser, pool: asyncpg.Pool
) -> None:
    created, url = await opened(browser, pool)
    page = await browser.get(url)
    other = await browser.api.patch(
        f"/api/v1/subscriptions/{created['id']}",
        json={"name": "Renamed by Bob", "organization_id": None},
    )
    assert other.status_code == 200
    await caught_up(pool)

    conflict = await send(
        browser, page, "edit", f"{url}/edit", name="Home 75M", description="Typed by Ann"
    )
    assert conflict.status_code == 409
    assert "Someone else changed this subscription" in unescape(conflict.text)
    name = field_in(conflict, "edit", "name")
    assert 'value="Home 75M"' in name and "Renamed by Bob" in name  # typed kept, theirs shown
    assert "Typed by Ann</textarea>" in field_in(conflict, "edit", "description")
    assert "Saved meanwhile" not in field_in(conflict, "edit", "description")
    assert dialog_form(conflict, "edit")["version"] == "2"
    # Bob's cleared organization, which Ann's form did not change, is taken into it.
    assert dialog_form(conflict, "edit")["organization_id"] == ""
    assert dialog_form(conflict, "edit")["organization_id_search"] == ""
    assert "(none)" in dialog_html(conflict, "edit")
    summary = (await browser.api.get(f"/api/v1/subscriptions/{created['id']}")).json()
    assert summary["name"] == "Renamed by Bob"  # nothing overwritten

    again = await send(browser, conflict, "edit", f"{url}/edit")
    assert again.status_code == 303, again.text
    await caught_up(pool)
    summary = (await browser.api.get(f"/api/v1/subscriptions/{created['id']}")).json()
    assert (summary["name"], summary["description"]) == ("Home 75M", "Typed by Ann")
    assert summary["organization"] is None


async def test_an_edit_goes_on_when_someone_changed_something_else(
    browser: Browser, pool: asyncpg.Pool
) -> None:
    created, url = await opened(browser, pool)
    page = await browser.get(url)
    base = f"/api/v1/subscriptions/{created['id']}"
    moved = await browser.api.post(f"{base}/status", json={"status": "Suspended"})
    noted = await browser.api.patch(base, json={"description": "Bob's note"})
    assert moved.status_code == 200 and noted.status_code == 200
    await caught_up(pool)
    # Ann's form changes the name only: Bob's description and status stay as he saved them.
    done = await send(browser, page, "edit", f"{url}/edit", name="Ann's name")
    assert done.status_code == 303, done.text
    await caught_up(pool)
    summary = (await browser.api.get(base)).json()
    assert (summary["name"], summary["description"]) == ("Ann's name", "Bob's note")
    assert summary["status"] == "Suspended"


async def test_a_service_with_every_field_added_edited_and_removed(
    browser: Browser, pool: asyncpg.Pool
) -> None:
    _, url = await opened(browser, pool)
    page = await browser.get(f"{url}?tab=services")
    assert ">Add service</h2>" in page.text
    added = await send(
        browser, page, "services", f"{url}/services",
        plan="Fibre 100", download_max_mbps="100", upload_max_mbps="20",
        download_min_mbps="50", upload_min_mbps="10", qos_mode="cake",
        ipv4="192.0.2.10", pppoe_username="ann-home",
        installation_address="1 Mill Lane\nNorthfield",
    )  # fmt: skip
    assert added.status_code == 303, added.text
    await caught_up(pool)
    services = await browser.get(f"{url}?tab=services")
    for shown in (">QoS mode</th>", ">Mbps down / up</th>", ">Installation address</th>",
                  ">cake</td>", "min 50 / 10", "1 Mill Lane\nNorthfield"):  # fmt: skip
        assert shown in services.text, shown
    service_id = re.search(r'id="dialog-edit-services-([0-9a-f-]{36})"', services.text)
    assert service_id
    key = f"edit-services-{service_id.group(1)}"
    assert dialog_form(services, key)["qos_mode"] == "cake"
    action = f"{url}/services/{service_id.group(1)}"

    bad = await send(browser, services, key, action, download_min_mbps="500")
    assert bad.status_code == 422
    assert "must not exceed" in field_in(bad, key, "download_min_mbps")
    assert 'value="500"' in field_in(bad, key, "download_min_mbps")
    fast = await send(browser, services, key, action, upload_max_mbps="fast")
    assert fast.status_code == 422 and 'class="field-error"' in field_in(
        fast, key, "upload_max_mbps"
    )

    edited = await send(browser, services, key, action, qos_mode="fq_codel", upload_min_mbps="")
    assert edited.status_code == 303, edited.text
    await caught_up(pool)
    listed = (await browser.api.get(url.replace("/admin", "/api/v1") + "/services")).json()
    service = listed["items"][0] if isinstance(listed, dict) else listed[0]
    assert service["qos_mode"] == "fq_codel" and service["upload_min_mbps"] is None
    assert service["pppoe_username"] == "ann-home" and service["download_min_mbps"] == 50

    services = await browser.get(f"{url}?tab=services")
    remove_key = f"remove-services-{service_id.group(1)}"
    assert "Remove the service Fibre 100" in dialog_html(services, remove_key)
    removed = await send(browser, services, remove_key, f"{action}/remove")
    assert removed.status_code == 303
    await caught_up(pool)
    assert "Services (0)" in (await browser.get(f"{url}?tab=services")).text


async def test_hotspot_accounts_and_devices_edited_and_removed(
    browser: Browser, pool: asyncpg.Pool
) -> None:
    created, url = await opened(browser, pool)
    api, base = browser.api, f"/api/v1/subscriptions/{created['id']}"
    expires = "2026-12-31T23:59:30+00:00"
    hotspot = await api.post(
        f"{base}/hotspots", json={"login": "voucher-1", "profile": "1h", "expires_at": expires}
    )
    device = await api.post(f"{base}/devices", json={"name": "Roof CPE", "type": "CPE"})
    service = await api.post(
        f"{base}/services", json={"plan": "Air 20", "download_max_mbps": 20, "upload_max_mbps": 5}
    )
    assert hotspot.status_code == 201 and device.status_code == 201, hotspot.text
    assert service.status_code == 201, service.text
    await caught_up(pool)

    hotspots = await browser.get(f"{url}?tab=hotspot")
    key = f"edit-hotspots-{hotspot.json()['id']}"
    action = f"{url}/hotspots/{hotspot.json()['id']}"
    blank = await send(browser, hotspots, key, action, login="")
    assert blank.status_code == 422 and "required" in field_in(blank, key, "login")
    assert dialog_form(hotspots, key)["expires_at"] == "2026-12-31T23:59"  # shown in UTC
    done = await send(browser, hotspots, key, action, profile="1 day", data_limit_mb="500")
    assert done.status_code == 303, done.text

    devices = await browser.get(f"{url}?tab=devices")
    key = f"edit-devices-{device.json()['id']}"
    action = f"{url}/devices/{device.json()['id']}"
    bad_mac = await send(browser, devices, key, action, mac="not a mac")
    assert bad_mac.status_code == 422 and 'class="field-error"' in field_in(bad_mac, key, "mac")
    assert "Air 20" in field_in(devices, key, "service_id")
    done = await send(
        browser, devices, key, action,
        vendor="Ubiquiti", model="LiteBeam", service_id=service.json()["id"],
    )  # fmt: skip
    assert done.status_code == 303, done.text
    await caught_up(pool)
    hotspot_now = (await api.get(f"{base}/hotspots")).json()
    hotspot_now = hotspot_now["items"] if isinstance(hotspot_now, dict) else hotspot_now
    # The moment not touched in the form is not sent: its seconds are kept.
    assert hotspot_now[0]["expires_at"].startswith("2026-12-31T23:59:30")
    assert hotspot_now[0]["data_limit_mb"] == 500

    assert ">1 day</td>" in (await browser.get(f"{url}?tab=hotspot")).text
    devices = await browser.get(f"{url}?tab=devices")
    assert ">Ubiquiti</td>" in devices.text and ">LiteBeam</td>" in devices.text
    assert ">Air 20</td>" in devices.text
    gone = await send(browser, devices, f"remove-devices-{device.json()['id']}", f"{action}/remove")
    assert gone.status_code == 303
    hotspots = await browser.get(f"{url}?tab=hotspot")
    hotspot_action = f"{url}/hotspots/{hotspot.json()['id']}/remove"
    gone = await send(browser, hotspots, f"remove-hotspots-{hotspot.json()['id']}", hotspot_action)
    assert gone.status_code == 303
    await caught_up(pool)
    assert "Devices (0)" in (await browser.get(f"{url}?tab=devices")).text
    assert "Hotspot (0)" in (await browser.get(f"{url}?tab=hotspot")).text

    again = await browser.post(
        hotspot_action, data=dialog_form(hotspots, f"remove-hotspots-{hotspot.json()['id']}")
    )
    assert again.status_code == 404  # removed meanwhile: said on the page, not a 500
    assert 'class="form-error" role="alert"' in again.text


async def test_billing_details_and_a_refund(browser: Browser, pool: asyncpg.Pool) -> None:
    created, url = await opened(browser, pool)
    details = await browser.get(f"{url}?tab=details")
    assert ">Billing details</h2>" in details.text
    bad = await send(
        browser, details, "billing", f"{url}/billing",
        plan="Home 50", price="29.90", currency="USD", billing_day="40",
    )  # fmt: skip
    assert bad.status_code == 422
    assert 'class="field-error"' in field_in(bad, "billing", "billing_day")
    assert 'value="29.90"' in field_in(bad, "billing", "price")
    done = await send(
        browser, details, "billing", f"{url}/billing",
        plan="Home 50", price="29.90", currency="USD", billing_day="5", cycle="quarterly",
    )  # fmt: skip
    assert done.status_code == 303, done.text

    paid = await browser.api.post(
        f"/api/v1/subscriptions/{created['id']}/payments",
        json={"amount": "29.90", "currency": "USD", "method": "cash",
              "paid_at": "2026-11-01T10:00:00Z"},
    )  # fmt: skip
    assert paid.status_code == 201, paid.text
    await caught_up(pool)
    details = await browser.get(f"{url}?tab=details")
    assert "29.90 USD (quarterly)" in details.text
    assert dialog_form(details, "billing")["cycle"] == "quarterly"
    key, payment_id = f"refund-{paid.json()['id']}", paid.json()["id"]
    action = f"{url}/payments/{payment_id}/refund"
    assert dialog_form(details, key)["amount"] == "29.90"
    too_much = await send(browser, details, key, action, amount="50.00")
    assert too_much.status_code == 422
    assert "left to refund" in field_in(too_much, key, "amount")
    refunded = await send(browser, details, key, action, amount="9.90", reason="Outage credit")
    assert refunded.status_code == 303, refunded.text
    await caught_up(pool)
    details = await browser.get(f"{url}?tab=details")
    assert "Outage credit" in details.text
    assert dialog_form(details, key)["amount"] == "20.00"


async def test_reopen_with_a_reason_and_a_refusal_in_words(
    browser: Browser, pool: asyncpg.Pool
) -> None:
    api = browser.api
    first, url = await opened(browser, pool)
    base = f"/api/v1/subscriptions/{first['id']}"
    service = {"plan": "p", "download_max_mbps": 10, "upload_max_mbps": 5, "pppoe_username": "zed"}
    assert (await api.post(f"{base}/services", json=service)).status_code == 201
    assert (await api.post(f"{base}/status", json={"status": "Cancelled"})).status_code == 200
    second = await new_subscription(api)
    taken = await api.post(f"/api/v1/subscriptions/{second['id']}/services", json=service)
    assert taken.status_code == 201, taken.text
    await caught_up(pool)

    page = await browser.get(url)
    assert ">Reopen subscription</h2>" in page.text
    assert ">Edit subscription</h2>" not in page.text and ">Change status</h2>" not in page.text
    no_reason = await send(browser, page, "reopen", f"{url}/reopen", reason="")
    assert no_reason.status_code == 422
    assert "This field is required." in field_in(no_reason, "reopen", "reason")
    refused = await send(browser, page, "reopen", f"{url}/reopen", reason="Cancelled by mistake")
    assert refused.status_code == 409
    alert = re.search(r'class="form-error" role="alert">([^<]*)<', dialog_html(refused, "reopen"))
    assert alert and f"already used by subscription {second['unique_id']}" in unescape(
        alert.group(1)
    )
    assert "Cancelled by mistake</textarea>" in field_in(refused, "reopen", "reason")

    freed = await api.delete(f"/api/v1/subscriptions/{second['id']}/services/{taken.json()['id']}")
    assert freed.status_code == 200
    reopened = await send(browser, page, "reopen", f"{url}/reopen", reason="Cancelled by mistake")
    assert reopened.status_code == 303, reopened.text
    await caught_up(pool)
    summary = await browser.get(url)
    assert 'class="badge status-inactive"' in summary.text
    assert ">Edit subscription</h2>" in summary.text
    history = await browser.get(f"{url}?tab=history")
    assert "Cancelled by mistake" in history.text


async def test_a_read_token_sees_no_forms_and_cannot_post_them(
    web: WebFactory, pool: asyncpg.Pool
) -> None:
    writer = await web()
    created = await new_subscription(writer.api)
    paid = await writer.api.post(
        f"/api/v1/subscriptions/{created['id']}/payments",
        json={"amount": "10", "currency": "USD", "method": "cash",
              "paid_at": "2026-11-01T10:00:00Z"},
    )  # fmt: skip
    assert paid.status_code == 201
    await caught_up(pool)
    reader = await web(writer.tenant_id, "read")
    url = f"/admin/subscriptions/{created['id']}"
    for tab in ("summary", "details", "services", "hotspot", "devices"):
        page = await reader.get(f"{url}?tab={tab}&open=edit")
        assert page.status_code == 200
        assert (
            "<dialog" not in page.text
            and '<form method="post" action="/admin/subscriptions/' not in page.text
        )
        assert "data-dialog=" not in page.text
    page = await reader.get(url)
    for path in ("edit", "reopen", "billing", f"payments/{paid.json()['id']}/refund"):
        refused = await reader.submit(page, f"{url}/{path}", {"name": "x", "reason": "x"})
        assert refused.status_code == 403, path


async def test_a_status_change_scheduled_on_the_summary_and_cancelled(
    browser: Browser, pool: asyncpg.Pool
) -> None:
    created, url = await opened(browser, pool)
    page = await browser.get(url)
    assert ">Scheduled status changes</h2>" in page.text
    assert "No status change scheduled." in page.text
    action = f"{url}/scheduled-status"
    undated = await send(browser, page, "scheduled-status", action, status="Cancelled", at="")
    assert undated.status_code == 422
    assert 'class="field-error"' in field_in(undated, "scheduled-status", "at")
    past = await send(
        browser, page, "scheduled-status", action, status="Cancelled", at="2020-01-01T00:00"
    )
    assert past.status_code == 422
    assert 'class="field-error"' in field_in(past, "scheduled-status", "at")

    done = await send(
        browser, page, "scheduled-status", action,
        status="Cancelled", reason="End of contract", at="2099-01-31T00:00",
    )  # fmt: skip
    assert done.status_code == 303, done.text
    await caught_up(pool)
    listed = await browser.api.get(f"/api/v1/subscriptions/{created['id']}/scheduled-status")
    [change] = listed.json()["items"]
    assert (change["status"], change["reason"]) == ("Cancelled", "End of contract")
    assert change["at"].startswith("2099-01-31T00:00:00")
    page = await browser.get(url)
    row = re.search(r'aria-label="Scheduled status changes".*?</table>', page.text, re.S)
    assert row and "End of contract" in row.group(0) and "status-cancelled" in row.group(0)
    key = f"cancel-scheduled-{change['id']}"
    assert "Cancel scheduled change to Cancelled" in dialog_html(page, key)

    cancelled = await send(browser, page, key, f"{url}/scheduled-status/{change['id']}/cancel")
    assert cancelled.status_code == 303, cancelled.text
    await caught_up(pool)
    page = await browser.get(url)
    assert "No status change scheduled." in page.text and key not in page.text
    listed = await browser.api.get(f"/api/v1/subscriptions/{created['id']}/scheduled-status")
    assert listed.json()["items"] == []
