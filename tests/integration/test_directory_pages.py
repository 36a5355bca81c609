"""Administration → Contacts, Organizations, Engineers, Service Contracts and the pickers of the
Add Subscription form, the list's engineer filter and the bulk form, over HTTP against the
in-process app, real PostgreSQL and NATS.

The projection workers do not run here: a test runs them (`project`) before reading a page that
must show what it just wrote.
"""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest

from services.subscription.read import directory as entries
from services.subscription.read.queries import parse_sort
from tests.helpers import directory
from tests.integration.conftest import Browser, WebFactory, new_subscription, project
from tests.integration.test_web_pages import field_html, latest_position

KINDS = ("contacts", "organizations", "engineers", "service-contracts")
BY_NAME = parse_sort("name", entries.SORTS, entries.DEFAULT_SORT)


async def caught_up(pool: asyncpg.Pool) -> None:
    await project(pool, await latest_position(pool))


def location(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def link(page: httpx.Response, text: str) -> str:
    """The href of the link with this text (attributes before the href allowed)."""
    found = re.search(rf'<a [^>]*href="([^"]+)"[^>]*>{re.escape(text)}</a>', page.text)
    assert found, f"no link {text!r} in the page"
    return unescape(found.group(1))


async def test_add_edit_deactivate_and_reactivate_a_contact(
    browser: Browser, pool: asyncpg.Pool
) -> None:
    listing = await browser.get("/admin/contacts")
    assert listing.status_code == 200 and "<h1>Contacts</h1>" in listing.text
    assert 'href="/admin/contacts" aria-current="page"' in listing.text
    form = await browser.get(link(listing, "Add contact"))
    assert "<h1>Add contact</h1>" in form.text

    refused = await browser.submit(
        form, "/admin/contacts/new", {"name": "  ", "email": "not-an-email", "phone": "+1 555"}
    )
    assert refused.status_code == 422
    assert "This field is required." in field_html(refused, "name")
    assert 'class="field-error"' in field_html(refused, "email")
    assert 'value="+1 555"' in field_html(refused, "phone")

    typed = {"name": "Wanjiru Kamau", "email": "wanjiru@example.net", "phone": "+254 700 000"}
    added = location(await browser.submit(refused, "/admin/contacts/new", typed))
    entry_id = re.fullmatch(r"/admin/contacts/([0-9a-f-]{36})\?saved=added", added)
    assert entry_id, added
    path = f"/admin/contacts/{entry_id.group(1)}"
    await caught_up(pool)
    page = await browser.get(added)
    assert "<h1>Wanjiru Kamau</h1>" in page.text and "Contact added." in page.text
    assert "entry-active" in page.text

    edit = await browser.get(link(page, "Edit"))
    assert 'value="+254 700 000"' in field_html(edit, "phone")
    blank_name = await browser.submit(edit, f"{path}/edit", {**typed, "name": ""})
    assert blank_name.status_code == 422 and "required" in field_html(blank_name, "name")
    changed = {**typed, "name": "Wanjiru Kamau-Otieno", "phone": ""}
    assert location(await browser.submit(edit, f"{path}/edit", changed)).endswith("saved=edited")
    await caught_up(pool)
    body = (await browser.api.get(f"/api/v1/contacts/{entry_id.group(1)}")).json()
    assert body["name"] == "Wanjiru Kamau-Otieno" and body["phone"] is None  # a blank clears

    page = await browser.get(path)
    too_long = await browser.submit(page, f"{path}/deactivate", {"reason": "x" * 501})
    assert too_long.status_code == 422 and 'class="form-error"' in too_long.text
    assert 'value="' + "x" * 501 + '"' in too_long.text  # what was typed is kept
    gone = await browser.submit(page, f"{path}/deactivate", {"reason": "Moved away"})
    assert location(gone).endswith("saved=deactivated")
    await caught_up(pool)
    page = await browser.get(path)
    assert "entry-inactive" in page.text and f'action="{path}/reactivate"' in page.text
    assert "Wanjiru" not in (await browser.get("/admin/contacts")).text  # active ones by default
    assert "Wanjiru" in (await browser.get("/admin/contacts?show=inactive")).text
    assert "Wanjiru" in (await browser.get("/admin/contacts?show=all")).text

    back = await browser.submit(page, f"{path}/reactivate")
    assert location(back).endswith("saved=reactivated")
    again = await browser.submit(page, f"{path}/reactivate")  # already active: said, not a 500
    assert again.status_code in (409, 422) and "form-error" in again.text
    await caught_up(pool)
    assert "entry-active" in (await browser.get(path)).text
    types = await pool.fetch(
        "select type from events.events where stream_id = $1 order by version",
        entry_id.group(1),
    )
    assert [r["type"] for r in types] == [
        "contact.registered", "contact.edited", "contact.deactivated", "contact.reactivated",
    ]  # fmt: skip


async def test_a_service_contract_with_a_bad_date_is_refused_beside_it(browser: Browser) -> None:
    form = await browser.get("/admin/service-contracts/new")
    typed = {"number": "SC-77", "title": "Fibre 300", "starts_on": "next week"}
    refused = await browser.submit(form, "/admin/service-contracts/new", typed)
    assert refused.status_code == 422
    assert 'class="field-error"' in field_html(refused, "starts_on")
    assert 'value="next week"' in field_html(refused, "starts_on")
    assert 'value="SC-77"' in field_html(refused, "number")
    typed["starts_on"] = "2026-01-01"
    added = location(await browser.submit(refused, "/admin/service-contracts/new", typed))
    assert added.startswith("/admin/service-contracts/")


async def test_each_kind_lists_searches_and_pages(browser: Browser, pool: asyncpg.Pool) -> None:
    for n in range(52):
        made = await browser.api.post("/api/v1/engineers", json={"name": f"Tech {n:02d}"})
        assert made.status_code == 201
    await browser.api.post("/api/v1/engineers", json={"name": "Zawadi", "email": "zq@isp.example"})
    await directory(browser.api)
    await caught_up(pool)
    for kind in KINDS:
        assert (await browser.get(f"/admin/{kind}")).status_code == 200, kind

    first = await browser.get("/admin/engineers")
    assert first.text.count("entry-active") == 50
    second = await browser.get(link(first, "Next page"))
    assert second.text.count("entry-active") == 4 and "First page" in second.text
    assert "Zawadi" in second.text and "Zawadi" not in first.text

    found = await browser.get("/admin/engineers", params={"q": "ZQ@isp"})  # email, any case
    assert found.text.count("entry-active") == 1 and "Zawadi" in found.text
    none = await browser.get("/admin/engineers", params={"q": "100%_"})
    assert none.status_code == 200 and "No engineers match" in none.text
    stale = await browser.get("/admin/engineers", params={"cursor": "not-ours"})
    assert stale.status_code == 200 and stale.text.count("entry-active") == 50


@pytest.mark.parametrize("walk", [3, 2_000])
async def test_a_search_answers_the_same_walked_or_through_the_index(
    api: httpx.AsyncClient, pool: asyncpg.Pool, walk: int
) -> None:
    names = ["Amina Okafor", "Brian Okafor", "Carla Mutua", "Dan Okafor", "Eve Njoroge"]
    for name in names:
        assert (await api.post("/api/v1/contacts", json={"name": name})).status_code == 201
    await caught_up(pool)
    tenant_id = str(api.tenant_id)  # type: ignore[attr-defined]
    for q, expected in [("okafor", 3), ("ok", 3), ("mutua", 1), ("zzz", 0), ("a", 5)]:
        page = await entries.list_entries(
            pool, tenant_id, "contact", q, True, BY_NAME, None, 2, walk
        )
        everything = [n for n in names if q in n.lower()]
        assert [e["name"] for e in page.items] == everything[:2], (q, walk)
        assert (page.next_cursor is not None) == (expected > 2), (q, walk)


async def test_an_entrys_page_lists_the_subscriptions_that_refer_to_it(
    browser: Browser, pool: asyncpg.Pool
) -> None:
    created = await new_subscription(browser.api, name="Lakeside 20M")
    refs = created["refs"]
    assert isinstance(refs, dict)
    await caught_up(pool)
    for kind, field in zip(KINDS, refs, strict=True):
        page = await browser.get(f"/admin/{kind}/{refs[field]}")
        assert page.status_code == 200, kind
        assert "Lakeside 20M" in page.text and str(created["unique_id"]) in page.text, kind

    contact = f"/admin/contacts/{refs['contact_id']}"
    await browser.submit(await browser.get(contact), f"{contact}/deactivate")
    await caught_up(pool)
    page = await browser.get(contact)
    assert "entry-inactive" in page.text and "Lakeside 20M" in page.text  # it stays on it
    summary = (await browser.api.get(f"/api/v1/subscriptions/{created['id']}")).json()
    assert summary["contact"]["id"] == refs["contact_id"]

    elsewhere = await browser.get(f"/admin/contacts/{refs['engineer_id']}")  # not a contact
    assert elsewhere.status_code == 404
    assert (await browser.get("/admin/contacts/not-a-uuid")).status_code == 404


async def test_a_read_token_sees_no_actions_and_cannot_post(
    web: WebFactory, pool: asyncpg.Pool
) -> None:
    writer = await web()
    refs = await directory(writer.api)
    await caught_up(pool)
    reader = await web(writer.tenant_id, "read")
    path = f"/admin/contacts/{refs['contact_id']}"

    listing = await reader.get("/admin/contacts")
    assert listing.status_code == 200 and "Jane Doe" in listing.text
    assert "Add contact" not in listing.text
    page = await reader.get(path)
    assert page.status_code == 200 and "Jane Doe" in page.text
    assert "/deactivate" not in page.text and "/edit" not in page.text
    for forbidden in (f"{path}/edit", "/admin/contacts/new"):
        assert (await reader.get(forbidden)).status_code == 403, forbidden
    refused = await reader.submit(listing, f"{path}/deactivate", {"reason": "x"})
    assert refused.status_code == 403 and "Read-only access" in refused.text
    assert (await reader.get("/admin/pick/contacts.json?q=jane")).status_code == 200
    # The choose page serves the list's engineer filter without JavaScript: no "Add" there.
    choose = await reader.get("/admin/pick/contacts?q=jane")
    assert choose.status_code == 200 and "Jane Doe" in choose.text
    assert "Add a contact" not in choose.text


async def test_the_picker_answers_active_matches_of_the_tenant_as_json(
    browser: Browser, web: WebFactory, pool: asyncpg.Pool
) -> None:
    refs = await directory(browser.api)
    other = await web()
    await directory(other.api)  # another tenant's Jane Doe
    gone = await browser.api.post("/api/v1/contacts", json={"name": "Janet Gone"})
    await browser.api.post(f"/api/v1/contacts/{gone.json()['id']}/deactivate")
    await caught_up(pool)

    answer = await browser.get("/admin/pick/contacts.json", params={"q": "jan"})
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    assert answer.json() == {
        "items": [{"id": refs["contact_id"], "label": "Jane Doe", "detail": "jane@example.net"}]
    }
    contracts = (await browser.get("/admin/pick/service-contracts.json?q=sc-1")).json()
    assert [i["label"] for i in contracts["items"]] == ["SC-1 — Rural 50"]
    everyone = (await browser.get("/admin/pick/engineers.json")).json()
    assert [i["label"] for i in everyone["items"]] == ["Alice Ng"]
    assert (await browser.get("/admin/pick/tenants.json?q=a")).status_code == 404
    assert (await browser.get("/admin/pick/contacts.json?q=%00")).status_code == 422

    async with httpx.AsyncClient(transport=browser.app_transport, base_url="http://test") as anon:
        signed_out = await anon.get("/admin/pick/contacts.json?q=jan")
        assert signed_out.status_code == 303


async def test_find_without_javascript_chooses_and_keeps_what_was_typed(
    browser: Browser, pool: asyncpg.Pool
) -> None:
    refs = await directory(browser.api)
    await caught_up(pool)
    form = await browser.get("/admin/subscriptions/new")
    assert 'name="contact_id_search"' in field_html(form, "contact_id")
    assert 'class="required"' in field_html(form, "contact_id")
    typed = {
        "contact_id": "", "contact_id_search": "jane", "name": "Shop 100M", "status": "Suspended",
        "engineer_id": refs["engineer_id"], "engineer_id_search": "Alice Ng",
        "description": "Mast on the <roof>", "then": "pick:contact_id",
    }  # fmt: skip
    away = location(await browser.submit(form, "/admin/subscriptions/new", typed))
    assert away.startswith("/admin/pick/contacts?")
    assert parse_qs(urlsplit(away).query)["q"] == ["jane"]

    choose = await browser.get(away)
    assert choose.status_code == 200 and "Jane Doe" in choose.text
    chosen = link(choose, "Choose")
    assert chosen.startswith("/admin/subscriptions/new?")
    back = await browser.get(chosen)
    assert f'value="{refs["contact_id"]}"' in field_html(back, "contact_id")
    assert 'value="Jane Doe"' in field_html(back, "contact_id")
    assert 'value="Alice Ng"' in field_html(back, "engineer_id")
    assert 'value="Shop 100M"' in field_html(back, "name")
    assert 'value="Suspended" selected' in field_html(back, "status")
    assert "Mast on the &lt;roof&gt;</textarea>" in field_html(back, "description")

    saved = await browser.submit(
        back,
        "/admin/subscriptions/new",
        {
            **typed,
            "contact_id": refs["contact_id"],
            "contact_id_search": "Jane Doe",
            "then": "view",
        },
    )
    assert re.fullmatch(r"/admin/subscriptions/[0-9a-f-]{36}", location(saved))


async def test_typed_text_with_nothing_chosen_is_the_fields_error(
    browser: Browser, pool: asyncpg.Pool
) -> None:
    refs = await directory(browser.api)
    await caught_up(pool)
    form = await browser.get("/admin/subscriptions/new")
    typed = {
        "contact_id": "", "contact_id_search": "Somebody", "name": "", "status": "Active",
        "engineer_id": refs["engineer_id"], "engineer_id_search": "",  # emptied: no engineer
        "organization_id": refs["organization_id"], "organization_id_search": "Acme Farms",
        "then": "view",
    }  # fmt: skip
    refused = await browser.submit(form, "/admin/subscriptions/new", typed)
    assert refused.status_code == 422
    assert "Choose a contact from the matches" in field_html(refused, "contact_id")
    assert 'value="Somebody"' in field_html(refused, "contact_id")
    assert "required" in field_html(refused, "engineer_id")
    assert "required" in field_html(refused, "name")
    assert f'value="{refs["organization_id"]}"' in field_html(refused, "organization_id")


async def test_add_a_contact_from_the_form_and_come_back_with_it_chosen(
    browser: Browser, pool: asyncpg.Pool
) -> None:
    refs = await directory(browser.api)
    await caught_up(pool)
    form = await browser.get("/admin/subscriptions/new")
    typed = {
        "contact_id": "", "contact_id_search": "Nina Newcomer", "name": "Cabin 10M",
        "status": "Inactive", "engineer_id": refs["engineer_id"], "engineer_id_search": "Alice Ng",
        "then": "add:contact_id",
    }  # fmt: skip
    away = location(await browser.submit(form, "/admin/subscriptions/new", typed))
    assert away.startswith("/admin/contacts/new?")
    add = await browser.get(away)
    assert 'value="Nina Newcomer"' in field_html(add, "name")
    assert "back to the subscription form" in add.text
    refused = await browser.submit(
        add, "/admin/contacts/new", {"name": "Nina Newcomer", "email": "nope", **hidden(add)}
    )
    assert refused.status_code == 422 and 'name="back"' in refused.text  # the way back kept
    back = location(
        await browser.submit(refused, "/admin/contacts/new", {"name": "Nina Newcomer",
                                                               **hidden(refused)})
    )  # fmt: skip
    assert back.startswith("/admin/subscriptions/new?")
    await caught_up(pool)
    again = await browser.get(back)
    new_id = parse_qs(urlsplit(back).query)["contact_id"][0]
    assert f'value="{new_id}"' in field_html(again, "contact_id")
    assert 'value="Nina Newcomer"' in field_html(again, "contact_id")
    assert 'value="Cabin 10M"' in field_html(again, "name")
    assert 'value="Inactive" selected' in field_html(again, "status")
    assert 'value="Alice Ng"' in field_html(again, "engineer_id")


async def test_a_detour_never_leads_to_another_site(browser: Browser) -> None:
    form = await browser.get("/admin/contacts/new?field=contact_id&back=https://evil.example/x")
    assert 'name="back"' not in form.text
    added = await browser.submit(
        form,
        "/admin/contacts/new",
        {"name": "Safe", "field": "contact_id", "back": "//evil.example/admin/x"},
    )
    assert location(added).startswith("/admin/contacts/")
    pick = await browser.get("/admin/pick/contacts?field=x&back=/login")
    assert pick.status_code == 200 and "Back to the form" not in pick.text


def hidden(page: httpx.Response) -> dict[str, str]:
    """The detour's hidden fields of a page's form."""
    return {
        name: unescape(value)
        for name, value in re.findall(
            r'<input type="hidden" name="(field|back)" value="([^"]*)"', page.text
        )
    }


async def subscriptions_of(
    browser: Browser, refs: dict[str, str], named: dict[str, dict[str, str]]
) -> dict[str, str]:
    """Subscriptions by name (their ids), each with the directory's references and its own
    fields."""
    made = {}
    for name, fields in named.items():
        body = {**refs, "name": name, "status": "Active", **fields}
        response = await browser.api.post("/api/v1/subscriptions", json=body)
        assert response.status_code == 201, response.text
        made[name] = str(response.json()["id"])
    return made


async def test_the_lists_engineer_filter_chooses_any_engineer_without_javascript(
    browser: Browser, pool: asyncpg.Pool
) -> None:
    refs = await directory(browser.api)
    bob = (await browser.api.post("/api/v1/engineers", json={"name": "Bob Field"})).json()["id"]
    held, bobs = {"status": "Suspended"}, {"engineer_id": bob}
    named = {"Alice mast": held, "Bob mast": {**held, **bobs}, "Bob cabin": bobs}
    await subscriptions_of(browser, refs, named)
    gone = await browser.api.post(f"/api/v1/engineers/{bob}/deactivate", json={"reason": "left"})
    assert gone.status_code == 200, gone.text
    await caught_up(pool)

    listing = await browser.get("/admin/subscriptions")
    engineer = field_html(listing, "engineer_id")
    assert 'name="engineer_id_search"' in engineer and "Find engineer" in engineer
    assert "Add an engineer" not in engineer  # a filter names who is there
    assert "<select" not in engineer

    # "Find engineer" without JavaScript: the choose page, deactivated engineers too, and back.
    away = location(
        await browser.get(
            "/admin/subscriptions",
            params={"status": "Suspended", "engineer_id": "", "engineer_id_search": "bob",
                    "q": "mast", "then": "pick:engineer_id"},
        )
    )  # fmt: skip
    assert away.startswith("/admin/pick/engineers?")
    asked = parse_qs(urlsplit(away).query)
    assert asked["q"] == ["bob"] and asked["show"] == ["all"]
    assert asked["back"] == ["/admin/subscriptions?status=Suspended&q=mast"]
    choose = await browser.get(away)
    assert choose.status_code == 200 and "Bob Field" in choose.text and "deactivated" in choose.text
    back = link(choose, "Choose")
    assert back == f"/admin/subscriptions?status=Suspended&q=mast&engineer_id={bob}"
    filtered = await browser.get(back)
    assert filtered.status_code == 200
    assert "Bob mast" in filtered.text
    assert "Alice mast" not in filtered.text and "Bob cabin" not in filtered.text
    assert f'value="{bob}"' in field_html(filtered, "engineer_id")
    assert 'value="Bob Field"' in field_html(filtered, "engineer_id")  # named, by its id
    assert 'value="Suspended" selected' in filtered.text
    assert f'name="filter_engineer_id" value="{bob}"' in filtered.text  # the bulk form's filter

    # The type-ahead of the filter offers a deactivated engineer too; a form's does not.
    every = (await browser.get("/admin/pick/engineers.json?q=bob&show=all")).json()
    assert [(i["label"], i["detail"]) for i in every["items"]] == [("Bob Field", "deactivated")]
    assert (await browser.get("/admin/pick/engineers.json?q=bob")).json() == {"items": []}

    # An emptied box is any engineer, even with the id still in the form.
    cleared = await browser.get(
        "/admin/subscriptions", params={"engineer_id": bob, "engineer_id_search": "", "q": "mast"}
    )
    assert "Alice mast" in cleared.text and "Bob mast" in cleared.text


async def test_an_engineer_typed_but_not_chosen_is_the_filters_error(
    browser: Browser, pool: asyncpg.Pool
) -> None:
    refs = await directory(browser.api)
    await subscriptions_of(browser, refs, {"Pole 1": {}})
    await caught_up(pool)
    refused = await browser.get(
        "/admin/subscriptions", params={"engineer_id": "", "engineer_id_search": "Alice"}
    )
    assert refused.status_code == 422
    engineer = field_html(refused, "engineer_id")
    assert "Choose an engineer from the matches (Find), or clear the box." in engineer
    assert 'value="Alice"' in engineer and 'aria-invalid="true"' in engineer
    assert 'id="bulk-form"' not in refused.text  # no "all matching" over what it left out
    garbled = await browser.get("/admin/subscriptions?engineer_id=nope&engineer_id_search=x")
    assert garbled.status_code == 422


async def test_the_bulk_form_finds_an_engineer_without_javascript(
    browser: Browser, web: WebFactory, pool: asyncpg.Pool
) -> None:
    refs = await directory(browser.api)
    bob = (await browser.api.post("/api/v1/engineers", json={"name": "Bob Field"})).json()["id"]
    made = await subscriptions_of(browser, refs, {"Pole 1": {}, "Pole 2": {}, "Pole 3": {}})
    await caught_up(pool)
    listing = await browser.get("/admin/subscriptions", params={"q": "Pole"})
    ticked = [made["Pole 1"], made["Pole 2"]]
    typed = {
        "scope": "selected", "subscription_ids": ticked, "filter_q": "Pole",
        "action": "engineer", "reason": "rota", "engineer_id": "", "engineer_id_search": "bo",
    }  # fmt: skip

    # Typed, nothing chosen: the field's error, the form kept.
    refused = await browser.submit(listing, "/admin/bulk", {**typed, "then": "run"})
    assert refused.status_code == 422
    engineer = field_html(refused, "engineer_id")
    assert "Choose an engineer from the matches (Find), or add one." in engineer
    assert 'value="bo"' in engineer
    assert refused.text.count('name="subscription_ids"') == 2

    away = location(
        await browser.submit(refused, "/admin/bulk", {**typed, "then": "pick:engineer_id"})
    )
    assert away.startswith("/admin/pick/engineers?")
    assert parse_qs(urlsplit(away).query)["q"] == ["bo"]
    back = link(await browser.get(away), "Choose")
    assert back.startswith("/admin/bulk/new?")
    form = await browser.get(back)
    assert form.status_code == 200
    engineer = field_html(form, "engineer_id")
    assert f'value="{bob}"' in engineer and 'value="Bob Field"' in engineer
    assert "Assign to" in engineer
    for kept in (
        *ticked,
        'value="engineer" selected',
        'value="rota"',
        'name="filter_q" value="Pole"',
    ):
        assert kept in form.text, kept
    assert 'value="selected" checked' in form.text

    sent = await browser.submit(
        form, "/admin/bulk", {**typed, "engineer_id": bob, "engineer_id_search": "Bob Field"}
    )
    job = location(sent)
    assert re.fullmatch(r"/admin/bulk/[0-9a-f-]{36}", job)
    assert "Assign engineer Bob Field" in (await browser.get(job)).text

    reader = await web(browser.tenant_id, "read")
    assert (await reader.get(back)).status_code == 403
