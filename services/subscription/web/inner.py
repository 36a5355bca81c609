"""The inner page of a subscription: its tabs with their counts, and the dialogs of the forms that
change it (in the page's head and in the tab they concern; changes.py carries them out)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import Response

from contracts.subscription import Status
from services.subscription.access.tokens import Principal
from services.subscription.read import inner as inner_queries
from services.subscription.read import plans as plan_queries
from services.subscription.read import subscriptions as views
from services.subscription.read.queries import encode_cursor, parse_sort
from services.subscription.web import pickers
from services.subscription.web.actions import ACTIONS, EDIT, offered
from services.subscription.web.choices import Option
from services.subscription.web.dialogs import Builder, Dialog, Refused, shown
from services.subscription.web.fields import EDIT_SUBSCRIPTION
from services.subscription.web.forms import Rejected
from services.subscription.web.pages import caught_up, render
from services.subscription.web.session import PageError, SignedIn

PREFIX = "/admin/subscriptions/{subscription_id:uuid}"
router = APIRouter(prefix=PREFIX, include_in_schema=False)

TABS = {
    "summary": "Summary",
    "details": "Details",
    "services": "Services",
    "hotspot": "Hotspot",
    "devices": "Devices",
    "history": "History",
}
HISTORY_PAGE = 50
PLAN_CHOICES = 200
PLANS_BY_NAME = parse_sort("name", plan_queries.SORTS, plan_queries.DEFAULT_SORT)
PLAN_CHANGED = "subscription.service_plan_changed"
# The dialogs with pickers, and the fields they bring back from choosing an entry.
PICKER_DIALOGS = {
    EDIT: [f.name for f in EDIT_SUBSCRIPTION],
    "engineer": [f.name for f in ACTIONS["engineer"].fields],
}


@router.get("")
async def page(
    request: Request,
    subscription_id: UUID,
    principal: SignedIn,
    tab: str = "summary",
    cursor: str | None = None,
    open: str | None = None,  # the dialog shown open: the opener without the page's script
    changed: str | None = None,  # the version of a plan change just made, said above the tab
) -> Response:
    back = await _back_from_picker(request, principal, open)
    made = int(changed) if changed and changed.isdigit() and len(changed) < 10 else None
    return await show(request, principal, subscription_id, tab, cursor, back, open, made)


async def _back_from_picker(
    request: Request, principal: Principal, key: str | None
) -> Refused | None:
    """Back from choosing or adding a directory entry for a picker of a dialog (pickers.py):
    that dialog open as it was left, with the entry chosen."""
    names = PICKER_DIALOGS.get(key or "")
    given = request.query_params
    if key is None or names is None or not any(name in given for name in names):
        return None
    typed = {name: given.get(name, "")[:5000] for name in names}
    hidden = {name: given[name][:20000] for name in ("version", "opened") if name in given}
    labels = await pickers.labels(request.app.state.pool, principal.tenant_id, typed)
    return Refused(key, typed, Rejected(200), hidden=hidden, labels=labels)


async def show(
    request: Request,
    principal: Principal,
    subscription_id: UUID,
    tab: str,
    cursor: str | None = None,
    refused: Refused | None = None,
    open_key: str | None = None,
    changed: int | None = None,
) -> Response:
    """The page on one tab; a refused form shown open with what was typed and why."""
    tab = tab if tab in TABS else "summary"
    current = await caught_up(request, "subscriptions", "inner", "history", "account")
    pool, tenant_id = request.app.state.pool, principal.tenant_id
    found = await views.summary(pool, tenant_id, subscription_id)
    if found is None:
        raise PageError(404, "Not found", "There is no such subscription.")
    account = await inner_queries.account_counts(pool, tenant_id, subscription_id)
    counts = {**found["counts"], **account}
    content = await _content(pool, tenant_id, subscription_id, tab, cursor)
    dialogs = Builder(str(subscription_id), refused, open_key)
    head: list[Dialog] = []
    here: list[Dialog] = []
    rows: dict[str, list[Dialog]] = {}
    if principal.can_write:
        head, here, rows = await _dialogs(pool, tenant_id, found, tab, content, dialogs)
    orphan = dialogs.orphan()
    done = await _plan_changed(pool, tenant_id, subscription_id, changed) if changed else None
    return render(
        request,
        "inner.html",
        refused.refused.status if refused else 200,
        subscription=found,
        page_url=f"/admin/subscriptions/{subscription_id}",
        tab=tab,
        tabs=_tabs(counts, found["version"]),
        content=content,
        head_dialogs=head,
        tab_dialogs={d.key: d for d in here},
        row_dialogs=rows,
        pending_dialogs={k.removeprefix("cancel-plan-"): d for k, d in _cancels(dialogs.built)},
        plan_changed=done,
        dialogs=dialogs.built,
        refused_message=_orphan_message(orphan) if orphan else None,
        current=current,
    )


async def _dialogs(
    pool: asyncpg.Pool,
    tenant_id: str,
    found: dict[str, Any],
    tab: str,
    content: Any,
    dialogs: Builder,
) -> tuple[list[Dialog], list[Dialog], dict[str, list[Dialog]]]:
    """The dialogs of the page's head, of the tab shown, and of each row of its table."""
    closed = Status(found["status"]).is_closed
    head: list[Dialog] = []
    if closed:
        reopen = dialogs.action(
            ACTIONS["reopen"],
            text="It becomes Inactive; its addresses and logins are reserved again.",
            opener="Reopen",
        )
        head.append(reopen)
    else:
        head.append(dialogs.edit(found))
        head.append(dialogs.action(ACTIONS["status"], {"status": found["status"]}))
        engineer = {"engineer_id": str(found["engineer"]["id"])}
        labels = {"engineer_id": found["engineer"]["name"]}
        head.append(
            dialogs.action(
                ACTIONS["engineer"], engineer, labels=labels, pickers=True, opener="Assign engineer"
            )
        )
    plans = await _plan_options(pool, tenant_id) if tab == "services" else []
    here = [
        dialogs.action(
            action, _defaults(action.path, content), options={"plan_id": plans} if plans else {}
        )
        for action in ACTIONS.values()
        if action.tab == tab and offered(action, closed)
    ]
    rows: dict[str, list[Dialog]] = {}
    if tab == "summary":
        for change in found["scheduled_status_changes"]:
            rows[str(change["id"])] = [dialogs.cancel_scheduled(change)]
    elif tab == "details":
        for payment in content["payments"]:
            if Decimal(payment["net"]) > 0:
                rows[str(payment["id"])] = [dialogs.refund(payment)]
    elif not closed and tab in ("services", "hotspot", "devices"):
        path = {"services": "services", "hotspot": "hotspots", "devices": "devices"}[tab]
        items = content["items"] if tab == "devices" else content
        options = {"service_id": content["services"]} if tab == "devices" else None
        for item in items:
            edit, remove = dialogs.item(path, item, options)
            rows[str(item["id"])] = [edit, *_plan_dialogs(dialogs, tab, item, plans), remove]
    return head, here, rows


def _plan_dialogs(
    dialogs: Builder, tab: str, service: dict[str, Any], plans: list[Option]
) -> list[Dialog]:
    """A service's Change plan (when another plan is offered); its pending change's Cancel is
    built too, and shown beside that change."""
    if tab != "services":
        return []
    if service.get("pending_plan_change"):
        dialogs.cancel_plan(service)
    if any(p.value != str(service.get("plan_id")) for p in plans):
        return [dialogs.change_plan(service, plans)]
    return []


def _cancels(built: list[Dialog]) -> list[tuple[str, Dialog]]:
    return [(d.key, d) for d in built if d.key.startswith("cancel-plan-")]


async def _plan_options(pool: asyncpg.Pool, tenant_id: str) -> list[Option]:
    """The plans offered to a service, by name. A select, not a picker: a catalogue holds a
    few dozen plans, not a directory's 100,000 entries; the first PLAN_CHOICES are offered."""
    page = await plan_queries.list_plans(
        pool, tenant_id, None, False, PLANS_BY_NAME, None, PLAN_CHOICES
    )
    return [Option(str(p["id"]), plan_label(p)) for p in page.items]


def plan_label(plan: dict[str, Any]) -> str:
    """How a select names a plan: its name, rates and price."""
    rates = f"{plan['download_max_mbps']}/{plan['upload_max_mbps']} Mbps"
    return f"{plan['name']} — {rates}, {plan['price']} {plan['currency']} {plan['cycle']}"


async def _plan_changed(
    pool: asyncpg.Pool, tenant_id: str, subscription_id: UUID, version: int
) -> str | None:
    """What a plan change just made credited and charged: its History line."""
    cursor = encode_cursor(version + 1, subscription_id)
    page = await views.history(pool, tenant_id, subscription_id, cursor, 1)
    for event in page.items:
        if event["version"] == version and event["type"] == PLAN_CHANGED:
            return str(event["summary"])
    return None


def _defaults(path: str, content: Any) -> dict[str, str] | None:
    """The stored billing details fill the billing form; the others start from defaults."""
    if path == "billing" and content and content.get("billing"):
        return shown(ACTIONS["billing"].fields, content["billing"])
    return None


def _orphan_message(refused: Any) -> str:
    messages = [refused.message, *refused.fields.values()]
    return " ".join(m for m in messages if m) or "The change was refused."


def _tabs(counts: dict[str, int], events: int) -> list[tuple[str, str]]:
    """Each tab and its label with the count: touchpoints on Summary, payments on Details,
    events on History."""
    shown = {
        "summary": counts["touchpoints"],
        "details": counts["payments"],
        "services": counts["services"],
        "hotspot": counts["hotspots"],
        "devices": counts["devices"],
        "history": events,
    }
    return [(key, f"{label} ({shown[key]})") for key, label in TABS.items()]


async def _content(
    pool: asyncpg.Pool, tenant_id: str, subscription_id: UUID, tab: str, cursor: str | None
) -> Any:
    """What the chosen tab shows (the Summary's is the summary itself)."""
    match tab:
        case "details":
            return await inner_queries.details(pool, tenant_id, subscription_id)
        case "services":
            return await inner_queries.services(pool, tenant_id, subscription_id)
        case "hotspot":
            return await inner_queries.hotspots(pool, tenant_id, subscription_id)
        case "devices":
            services = await inner_queries.services(pool, tenant_id, subscription_id)
            return {
                "items": await inner_queries.devices(pool, tenant_id, subscription_id),
                "services": [Option(str(s["id"]), _service_label(s)) for s in services],
            }
        case "history":
            try:
                return await views.history(pool, tenant_id, subscription_id, cursor, HISTORY_PAGE)
            except ValueError:
                return await views.history(pool, tenant_id, subscription_id, None, HISTORY_PAGE)
    return None


def _service_label(service: dict[str, Any]) -> str:
    shown = service.get("pppoe_username") or ", ".join(service.get("ipv4") or []) or ""
    return f"{service['plan']} ({shown})" if shown else str(service["plan"])
