"""The admin pages over HTTP against the in-process app, real PostgreSQL and NATS: the session
cookie, sign-in and sign-out, CSRF, read-only tokens, the add form, the inner page's actions,
import and export.

The projection workers do not run here: a test runs them (`project`) before reading a page that
must show what it just wrote.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from html import unescape

import asyncpg
import httpx

from services.subscription.access import tokens
from tests.conftest import tenant
from tests.helpers import directory
from tests.integration.conftest import Browser, WebFactory, new_subscription, project
from tests.integration.test_api_imports import XLSX, fail_rows


def field_html(page: httpx.Response, name: str) -> str:
    """The wrapper of one form field (`<div class="field…" data-field=name>…</div>`)."""
    found = re.search(rf'<div class="field[^"]*" data-field="{name}">(.*?)</div>', page.text, re.S)
    assert found, f"no field {name} in the page"
    return found.group(1)


async def latest_position(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("select coalesce(max(position), 0) from events.events"))


async def test_sign_in_sets_an_httponly_samesite_cookie_and_shows_who(
    app_transport: httpx.ASGITransport, pool: asyncpg.Pool
) -> None:
    tenant_id = tenant()
    token, _ = await tokens.create(pool, "Grace at the desk", tenant_id, "admin")
    async with Browser(app_transport) as browser:
        form = await browser.get("/login")
        assert 'for="token">Access token</label>' in form.text
        bad = await browser.submit(form, "/login", {"token": "wg_nope"})
        assert bad.status_code == 401
        assert "That token is not valid." in bad.text

        signed = await browser.submit(
            bad, "/login", {"token": token, "next": "/admin/subscriptions"}
        )
        assert signed.status_code == 303
        assert signed.headers["location"] == "/admin/subscriptions"
        cookie = signed.headers["set-cookie"]
        assert cookie.startswith("wispgate_session=")
        assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
        assert "secure" not in cookie.lower()  # only in production
        assert token not in cookie and tokens.digest(token) not in cookie

        home = await browser.get("/")
        assert home.headers["location"] == "/admin/subscriptions"
        page = await browser.get("/admin/subscriptions")
        assert page.status_code == 200
        assert "<h1>Subscriptions</h1>" in page.text
        assert tenant_id in page.text and "Grace at the desk" in page.text
        assert "Sign out" in page.text and "Administration" in page.text

        out = await browser.submit(page, "/logout")
        assert out.headers["location"] == "/login"
        again = await browser.get("/admin/subscriptions")
        assert again.status_code == 303 and again.headers["location"].startswith("/login")


async def test_signed_out_visitors_see_only_the_sign_in_page(
    app_transport: httpx.ASGITransport,
) -> None:
    async with httpx.AsyncClient(transport=app_transport, base_url="http://test") as visitor:
        assert (await visitor.get("/")).headers["location"] == "/login"
        for path in (
            "/admin/subscriptions",
            "/admin/subscriptions/new",
            f"/admin/subscriptions/{uuid.uuid4()}",
            "/admin/subscriptions/export.csv",
            "/admin/imports/new",
            f"/admin/imports/{uuid.uuid4()}.json",
        ):
            response = await visitor.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/login?next=%2Fadmin%2F"), path
        posted = await visitor.post(f"/admin/subscriptions/{uuid.uuid4()}/status", data={})
        assert posted.status_code == 303 and posted.headers["location"].startswith("/login")
        form = await visitor.get("/login?next=https://evil.example/")
        assert 'name="next" value="/admin/subscriptions"' in form.text


async def test_a_revoked_token_ends_its_session(
    browser: Browser, pool: asyncpg.Pool, app_transport: httpx.ASGITransport
) -> None:
    assert (await browser.get("/admin/subscriptions")).status_code == 200
    await pool.execute(
        "update access.tokens set revoked_at = now() where token_hash = $1",
        tokens.digest(browser.token),
    )
    app_transport.app.state.usecases.auth.forget()  # as once its few seconds have passed
    signed_out = await browser.get("/admin/subscriptions")
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/login")


async def test_forms_without_the_sessions_csrf_token_are_refused(browser: Browser) -> None:
    for path in ("/admin/subscriptions/new", "/logout"):
        forged = await browser.post(path, data={"csrf_token": "forged", "name": "x"})
        assert forged.status_code == 403, path
        assert "Form expired" in forged.text
    upload = await browser.post(
        "/admin/imports", data={"csrf_token": "forged"}, files={"file": ("a.xlsx", XLSX)}
    )
    assert upload.status_code == 403
    missing = await browser.post("/admin/subscriptions/new", data={"name": "x"})
    assert missing.status_code == 403
    assert (await browser.get("/admin/subscriptions")).status_code == 200  # still signed in


async def test_read_token_sees_no_write_actions_and_cannot_post(
    web: WebFactory, pool: asyncpg.Pool
) -> None:
    writer = await web()
    created = await new_subscription(writer.api)
    await project(pool, int(str(created["position"])))
    reader = await web(writer.tenant_id, "read")

    listing = await reader.get("/admin/subscriptions")
    assert listing.status_code == 200 and "Home 50M" in listing.text
    assert "Add Subscription" not in listing.text and "Import from Excel" not in listing.text
    assert "Export to CSV" in listing.text
    inner = await reader.get(f"/admin/subscriptions/{created['id']}")
    assert inner.status_code == 200 and "<h1>Home 50M</h1>" in inner.text
    assert '<form method="post" action="/admin/subscriptions/' not in inner.text
    for path in ("/admin/subscriptions/new", "/admin/imports/new"):
        assert (await reader.get(path)).status_code == 403

    refused = await reader.submit(
        inner,
        f"/admin/subscriptions/{created['id']}/status",
        {"status": "Suspended"},
    )
    assert refused.status_code == 403 and "Read-only access" in refused.text


async def test_add_form_refusal_keeps_every_typed_value_and_names_the_field(
    browser: Browser, pool: asyncpg.Pool
) -> None:
    refs = await directory(browser.api)
    await project(pool, await latest_position(pool))
    form = await browser.get("/admin/subscriptions/new")
    assert "<h1>Add Subscription</h1>" in form.text
    assert 'for="unique_id">Unique ID</label>' in form.text
    assert '<output id="unique_id" class="readonly">Generated on save</output>' in form.text
    assert '<output id="notification_level" class="readonly">Now</output>' in form.text
    for name in ("contact_id", "name", "status", "engineer_id"):
        assert 'class="required"' in field_html(form, name)
        assert "*</span>" in field_html(form, name)
    assert 'class="required"' not in field_html(form, "organization_id")
    assert 'data-picker="/admin/pick/contacts.json"' in field_html(form, "contact_id")

    typed = {
        "organization_id": refs["organization_id"],
        "name": "Shop 100M",
        "status": "Suspended",
        "engineer_id": refs["engineer_id"],
        "service_contract_id": refs["service_contract_id"],
        "description": "Mast on the <roof>",
        "then": "view",
    }
    refused = await browser.submit(form, "/admin/subscriptions/new", typed)

    assert refused.status_code == 422
    assert 'class="field-error"' in field_html(refused, "contact_id")
    assert "required" in field_html(refused, "contact_id")
    assert 'value="Shop 100M"' in field_html(refused, "name")
    assert "Mast on the &lt;roof&gt;</textarea>" in field_html(refused, "description")
    for name in ("organization_id", "engineer_id", "service_contract_id"):
        assert f'type="hidden" name="{name}" value="{refs[name]}"' in field_html(refused, name)
    assert 'value="Suspended" selected' in field_html(refused, "status")
    assert 'class="field-error"' not in field_html(refused, "name")


async def test_a_decider_refusal_lands_next_to_its_field(
    browser: Browser, pool: asyncpg.Pool
) -> None:
    api = browser.api
    refs = await directory(api)
    gone = await api.post(f"/api/v1/engineers/{refs['engineer_id']}/deactivate")
    assert gone.status_code == 200
    form = await browser.get("/admin/subscriptions/new")
    data = {"contact_id": refs["contact_id"], "name": "Farm", "status": "Active",
            "engineer_id": refs["engineer_id"]}  # fmt: skip
    refused = await browser.submit(form, "/admin/subscriptions/new", data)
    assert refused.status_code == 422
    assert "deactivated" in field_html(refused, "engineer_id")


async def test_save_opens_the_inner_page_and_save_and_new_an_empty_form(
    browser: Browser, pool: asyncpg.Pool
) -> None:
    refs = await directory(browser.api)
    await project(pool, await latest_position(pool))
    form = await browser.get("/admin/subscriptions/new")
    base = {"contact_id": refs["contact_id"], "engineer_id": refs["engineer_id"]}
    base["status"] = "Active"

    again = await browser.submit(
        form,
        "/admin/subscriptions/new",
        {**base, "name": "First", "then": "new"},
    )
    assert again.status_code == 303
    match = re.fullmatch(r"/admin/subscriptions/new\?saved=(SUB-\d{6})", again.headers["location"])
    assert match, again.headers["location"]
    fresh = await browser.get(again.headers["location"])
    assert f"Subscription {match.group(1)} saved." in fresh.text
    assert 'value=""' in field_html(fresh, "name")

    saved = await browser.submit(
        fresh,
        "/admin/subscriptions/new",
        {**base, "name": "Second", "then": "view"},
    )
    location = saved.headers["location"]
    assert re.fullmatch(r"/admin/subscriptions/[0-9a-f-]{36}", location), location
    await project(pool, await latest_position(pool))
    inner = await browser.get(location)
    assert "<h1>Second</h1>" in inner.text
    for label in ("Summary (0)", "Details (0)", "Services (0)", "Hotspot (0)", "Devices (0)",
                  "History (1)"):  # fmt: skip
        assert label in inner.text


async def test_the_same_form_sent_twice_creates_one_subscription(
    browser: Browser, pool: asyncpg.Pool
) -> None:
    refs = await directory(browser.api)
    form = await browser.get("/admin/subscriptions/new")
    key = re.search(r'name="form_key" value="([^"]+)"', form.text)
    assert key
    data = {"form_key": key.group(1), "contact_id": refs["contact_id"], "name": "Once",
            "status": "Active", "engineer_id": refs["engineer_id"]}  # fmt: skip
    first = await browser.submit(form, "/admin/subscriptions/new", data)
    second = await browser.submit(form, "/admin/subscriptions/new", data)
    assert first.headers["location"] == second.headers["location"]
    count = await pool.fetchval(
        "select count(*) from events.events where tenant_id = $1 and type = 'subscription.created'",
        browser.tenant_id,
    )
    assert count == 1


async def test_inner_page_actions_change_status_and_add_a_service(
    browser: Browser, pool: asyncpg.Pool
) -> None:
    created = await new_subscription(browser.api)
    await project(pool, int(str(created["position"])))
    url = f"/admin/subscriptions/{created['id']}"
    page = await browser.get(url)
    # Each form sits in a dialog of the page's head or of the tab it concerns.
    for tab, titles in {
        "summary": ("Edit subscription", "Change status", "Assign engineer", "Add touchpoint"),
        "services": ("Add service",),
        "devices": ("Add device",),
        "hotspot": ("Add hotspot account",),
        "details": ("Billing details", "Add payment"),
    }.items():
        shown = await browser.get(f"{url}?tab={tab}")
        for title in titles:
            assert f">{title}</h2>" in shown.text, (tab, title)

    bad = await browser.submit(
        page,
        f"{url}/services",
        {
            "tab": "summary",
            "plan": "Rural 50",
            "download_max_mbps": "fast",
            "upload_max_mbps": "10",
            "ipv4": "10.0.0.300",
            "status": "active",
        },
    )
    assert bad.status_code == 422
    assert 'class="field-error"' in field_html(bad, "download_max_mbps")
    assert 'value="Rural 50"' in field_html(bad, "plan")

    added = await browser.submit(
        page,
        f"{url}/services",
        {
            "plan": "Rural 50",
            "download_max_mbps": "50",
            "upload_max_mbps": "10",
            "ipv4": "100.64.0.8/30, 100.64.1.1",
            "pppoe_username": "jane50",
            "status": "active",
        },
    )
    assert added.status_code == 303 and added.headers["location"].startswith(f"{url}?tab=services")
    moved = await browser.submit(
        page,
        f"{url}/status",
        {"status": "Suspended", "reason": "unpaid"},
    )
    assert moved.status_code == 303
    await project(pool, await latest_position(pool))

    services = await browser.get(f"{url}?tab=services")
    assert "Services (1)" in services.text and "jane50" in services.text
    assert "100.64.0.8/30, 100.64.1.1" in services.text
    summary = await browser.get(url)
    assert 'class="badge status-suspended"' in summary.text
    history = await browser.get(f"{url}?tab=history")
    assert "History (3)" in history.text and "unpaid" in history.text


async def test_closed_subscription_refusal_and_taken_login_show_on_the_form(
    browser: Browser, pool: asyncpg.Pool
) -> None:
    api = browser.api
    first = await new_subscription(api)
    second = await new_subscription(api)
    taken = await api.post(
        f"/api/v1/subscriptions/{first['id']}/services",
        json={"plan": "p", "download_max_mbps": 10, "upload_max_mbps": 5, "pppoe_username": "bob"},
    )
    assert taken.status_code == 201, taken.text
    await project(pool, await latest_position(pool))
    url = f"/admin/subscriptions/{second['id']}"
    page = await browser.get(url)

    clash = await browser.submit(
        page,
        f"{url}/services",
        {
            "plan": "p",
            "download_max_mbps": "10",
            "upload_max_mbps": "5",
            "pppoe_username": "bob",
            "status": "active",
        },
    )
    assert clash.status_code == 409
    assert f"already used by subscription {first['unique_id']}" in unescape(
        field_html(clash, "pppoe_username")
    )

    closed = await browser.submit(page, f"{url}/status", {"status": "Cancelled"})
    assert closed.status_code == 303
    await project(pool, await latest_position(pool))
    now_closed = await browser.get(url)
    assert ">Add touchpoint</h2>" in now_closed.text
    assert ">Add payment</h2>" in (await browser.get(f"{url}?tab=details")).text
    assert ">Change status</h2>" not in now_closed.text
    assert ">Add service</h2>" not in (await browser.get(f"{url}?tab=services")).text
    refused = await browser.submit(page, f"{url}/status", {"status": "Active"})
    assert refused.status_code == 409
    assert re.search(r'class="form-error" role="alert">[^<]*(closed|Cancelled)', refused.text)


async def test_import_upload_redirects_to_the_job_page_that_follows_it(
    browser: Browser, web: WebFactory, pool: asyncpg.Pool
) -> None:
    form = await browser.get("/admin/imports/new")
    assert "Spreadsheet (.xlsx)" in form.text
    assert "Dry run (check only, create nothing)" in form.text
    template = await browser.get("/admin/imports/template.xlsx")
    assert template.status_code == 200 and template.content.startswith(b"PK")

    not_xlsx = await browser.submit(
        form,
        "/admin/imports",
        files={"file": ("notes.txt", b"hello")},
    )
    assert not_xlsx.status_code == 415
    assert "not an .xlsx workbook" in not_xlsx.text and 'class="field-error"' in not_xlsx.text

    uploaded = await browser.submit(
        form,
        "/admin/imports",
        {"dry_run": "true"},
        files={"file": ("customers.xlsx", XLSX)},
    )
    assert uploaded.status_code == 303
    location = uploaded.headers["location"]
    job_id = uuid.UUID(location.rsplit("/", 1)[1])
    assert await pool.fetchval("select dry_run from imports.jobs where id = $1", job_id) is True

    running = await browser.get(location)
    assert '<progress id="import-progress"' in running.text
    assert f'data-state-url="/admin/imports/{job_id}.json"' in running.text
    await pool.execute(
        "update imports.jobs set state = 'completed', rows_total = 3, rows_processed = 3,"
        " rows_created = 2, rows_failed = 1 where id = $1",
        job_id,
    )
    await fail_rows(pool, job_id, {4: ([["Status", "Nope"]], ["Status must be one of …"])})
    state = (await browser.get(f"{location}.json")).json()
    assert (state["state"], state["rows_created"], state["rows_failed"]) == ("completed", 2, 1)
    done = await browser.get(location)
    assert "<td>Status</td><td>Status must be one of …</td>" in done.text
    assert '<section id="import-errors">' in done.text
    assert "Download rows with errors" in done.text
    errors = await browser.get(f"{location}/errors.xlsx")
    assert errors.status_code == 200 and errors.content.startswith(b"PK")

    stranger = await web()
    assert (await stranger.get(location)).status_code == 404


async def test_export_download_honours_the_lists_filters(
    browser: Browser, pool: asyncpg.Pool
) -> None:
    api = browser.api
    await new_subscription(api, name="Kept open")
    await new_subscription(api, name="Held back", status="Suspended")
    await new_subscription(api, name="Held too", status="Suspended")
    await project(pool, await latest_position(pool))

    listing = await browser.get("/admin/subscriptions?status=Suspended&engineer_id=&q=held")
    assert "Held back" in listing.text and "Kept open" not in listing.text
    assert 'class="badge status-suspended"' in listing.text
    link = re.search(r'href="(/admin/subscriptions/export\.csv[^"]*)"', listing.text)
    assert link, listing.text
    assert unescape(link.group(1)) == "/admin/subscriptions/export.csv?status=Suspended&q=held"

    download = await browser.get(unescape(link.group(1)))
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert sorted(r["Subscription Name"] for r in rows) == ["Held back", "Held too"]
    xlsx = await browser.get("/admin/subscriptions/export.xlsx?status=Active")
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")


async def test_list_pages_with_next_page(browser: Browser, pool: asyncpg.Pool) -> None:
    api = browser.api
    refs = await directory(api)
    for n in range(52):
        body = {**refs, "name": f"Sub {n:02d}", "status": "Active"}
        assert (await api.post("/api/v1/subscriptions", json=body)).status_code == 201
    await project(pool, await latest_position(pool))
    first = await browser.get("/admin/subscriptions")
    assert first.text.count("status-active") == 50
    link = re.search(r'href="([^"]+)" rel="next">Next page</a>', first.text)
    assert link
    second = await browser.get(unescape(link.group(1)))
    assert second.text.count("status-active") == 2 and "First page" in second.text
