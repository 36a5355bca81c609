"""The inner page of a subscription: its tabs with their counts, and the actions that change it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel

from contracts.subscription import Status
from services.subscription.access.tokens import Principal
from services.subscription.read import inner as inner_queries
from services.subscription.read import subscriptions as views
from services.subscription.usecases import inputs
from services.subscription.usecases.account import ITEM_KINDS
from services.subscription.usecases.bootstrap import UseCases
from services.subscription.usecases.calls import Call, Result
from services.subscription.web import choices, fields
from services.subscription.web.fields import Field
from services.subscription.web.forms import (
    Rejected,
    body,
    browser_zone,
    carried_out,
    page_call,
    validated,
    values,
)
from services.subscription.web.pages import caught_up, posted, render, see_other
from services.subscription.web.session import PageError, SignedIn, Writer

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
UseCase = Callable[[UseCases, Call, UUID, Any], Awaitable[Result]]


@dataclass(frozen=True)
class Action:
    """A form of the inner page: its fields, the use case's input model, the use case."""

    path: str
    title: str
    button: str
    fields: tuple[Field, ...]
    model: type[BaseModel]
    use: UseCase
    tab: str  # shown after it succeeded
    lists: tuple[str, ...] = ()
    moments: tuple[str, ...] = ()
    on_closed: bool = False  # payments and touchpoints are still recorded once it is closed


def _add(path: str) -> UseCase:
    kind = ITEM_KINDS[path]
    return lambda cases, call, sid, data: cases.account.add_item(call, kind, sid, data)


ACTIONS = [
    Action(
        "status", "Change status", "Change status", fields.CHANGE_STATUS, inputs.StatusIn,
        lambda cases, call, sid, data: cases.subscriptions.change_status(call, sid, data),
        "summary",
    ),
    Action(
        "engineer", "Assign engineer", "Assign", fields.ASSIGN_ENGINEER,
        inputs.EngineerAssignmentIn,
        lambda cases, call, sid, data: cases.subscriptions.assign_engineer(call, sid, data),
        "summary",
    ),
    Action(
        "services", "Add service", "Add service", fields.ADD_SERVICE, inputs.ServiceIn,
        _add("services"), "services", lists=("ipv4", "ipv6"),
    ),
    Action(
        "devices", "Add device", "Add device", fields.ADD_DEVICE, inputs.DeviceIn,
        _add("devices"), "devices",
    ),
    Action(
        "hotspots", "Add hotspot account", "Add hotspot account", fields.ADD_HOTSPOT,
        inputs.HotspotIn, _add("hotspots"), "hotspot", moments=("expires_at",),
    ),
    Action(
        "touchpoints", "Add touchpoint", "Add touchpoint", fields.ADD_TOUCHPOINT,
        inputs.TouchpointIn,
        lambda cases, call, sid, data: cases.account.log_touchpoint(call, sid, data),
        "summary", moments=("occurred_at",), on_closed=True,
    ),
    Action(
        "payments", "Add payment", "Add payment", fields.ADD_PAYMENT, inputs.PaymentIn,
        lambda cases, call, sid, data: cases.account.record_payment(call, sid, data),
        "details", moments=("paid_at",), on_closed=True,
    ),
]  # fmt: skip


@dataclass(frozen=True)
class Failed:
    """The action whose form was refused, what was typed in it, and why."""

    action: str
    typed: dict[str, str]
    refused: Rejected


@router.get("")
async def page(
    request: Request,
    subscription_id: UUID,
    principal: SignedIn,
    tab: str = "summary",
    cursor: str | None = None,
) -> Response:
    return await _page(request, principal, subscription_id, tab, cursor)


def _route(action: Action) -> Callable[..., Any]:
    async def act(request: Request, subscription_id: UUID, principal: Writer) -> Response:
        form = await posted(request)
        typed = values(form, [f.name for f in action.fields])
        shown = str(form.get("tab") or action.tab)
        cases = request.app.state.usecases
        try:
            data = validated(
                action.model, body(typed, action.lists, action.moments, browser_zone(form))
            )
            await carried_out(
                request, action.use(cases, page_call(principal), subscription_id, data)
            )
        except Rejected as refused:
            failed = Failed(action.path, typed, refused)
            return await _page(request, principal, subscription_id, shown, failed=failed)
        return see_other(f"/admin/subscriptions/{subscription_id}?tab={action.tab}#tab")

    return act


for _action in ACTIONS:
    router.add_api_route(
        f"/{_action.path}", _route(_action), methods=["POST"], name=f"admin-{_action.path}"
    )


async def _page(
    request: Request,
    principal: Principal,
    subscription_id: UUID,
    tab: str,
    cursor: str | None = None,
    failed: Failed | None = None,
) -> Response:
    tab = tab if tab in TABS else "summary"
    current = await caught_up(request, "subscriptions", "inner", "history")
    pool, tenant_id = request.app.state.pool, principal.tenant_id
    found = await views.summary(pool, tenant_id, subscription_id)
    if found is None:
        raise PageError(404, "Not found", "There is no such subscription.")
    account = await inner_queries.account_counts(pool, tenant_id, subscription_id)
    counts = {**found["counts"], **account}
    return render(
        request,
        "inner.html",
        failed.refused.status if failed else 200,
        subscription=found,
        tab=tab,
        tabs=_tabs(counts, found["version"]),
        content=await _content(pool, tenant_id, subscription_id, tab, cursor),
        actions=_actions(principal, Status(found["status"]), failed),
        forms=_forms(found, failed),
        engineers=await choices.options(pool, tenant_id, "engineer") if principal.can_write else [],
        current=current,
    )


def _actions(principal: Principal, status: Status, failed: Failed | None) -> list[Action]:
    """The forms the page offers: none to a read token; on a closed subscription only those
    it still accepts (the decider refuses the others with 409), and the one just refused."""
    if not principal.can_write:
        return []
    refused = failed.action if failed else None
    return [a for a in ACTIONS if a.on_closed or not status.is_closed or a.path == refused]


FormState = tuple[dict[str, str], dict[str, str], str | None]


def _forms(found: dict[str, Any], failed: Failed | None) -> dict[str, FormState]:
    """Each action form's values, errors and message: the refused one as it was sent, the
    others with their defaults (the current status and engineer)."""
    defaults = {
        "status": {"status": found["status"]},
        "engineer": {"engineer_id": str(found["engineer"]["id"])},
        "services": {"status": "active"},
        "hotspots": {"status": "active"},
        "touchpoints": {"kind": "call"},
    }
    forms: dict[str, FormState] = {a.path: (defaults.get(a.path, {}), {}, None) for a in ACTIONS}
    if failed is not None:
        forms[failed.action] = (failed.typed, failed.refused.fields, failed.refused.message)
    return forms


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
    pool: Any, tenant_id: str, subscription_id: UUID, tab: str, cursor: str | None
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
            return await inner_queries.devices(pool, tenant_id, subscription_id)
        case "history":
            try:
                return await views.history(pool, tenant_id, subscription_id, cursor, HISTORY_PAGE)
            except ValueError:
                return await views.history(pool, tenant_id, subscription_id, None, HISTORY_PAGE)
    return None
