"""What the inner page's forms do: each form's fields, the use case's input model and the use
case it calls, and the tab it belongs to. The routes that carry them out are in changes.py, the
dialogs that show them in dialogs.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel

from services.subscription.usecases import inputs
from services.subscription.usecases.account import ITEM_KINDS, ItemKind
from services.subscription.usecases.bootstrap import UseCases
from services.subscription.usecases.calls import Call, Result
from services.subscription.web import fields
from services.subscription.web.fields import Field
from services.subscription.web.forms import required

UseCase = Callable[[UseCases, Call, UUID, Any], Awaitable[Result]]
# When a form is offered: while the subscription is open, once it is closed, or always
# (payments and touchpoints are still recorded on a closed subscription).
Offered = Literal["open", "closed", "always"]


@dataclass(frozen=True)
class Action:
    """A form that changes the subscription: posted to `<subscription>/<path>`."""

    path: str
    title: str
    button: str
    fields: tuple[Field, ...]
    model: type[BaseModel]
    use: UseCase
    tab: str | None  # the tab it sits on; None: the page's head, on every tab
    lists: tuple[str, ...] = ()
    moments: tuple[str, ...] = ()
    offered: Offered = "open"
    check: Callable[[dict[str, str]], None] | None = None  # what the form alone can refuse


def _add(path: str) -> UseCase:
    kind = ITEM_KINDS[path]
    return lambda cases, call, sid, data: cases.account.add_item(call, kind, sid, data)


def custom_plan(typed: dict[str, str]) -> None:
    """A service on no catalogue plan needs its own plan name and maximum rates."""
    if not typed.get("plan_id", "").strip():
        required(CUSTOM_PLAN, typed)


CUSTOM_PLAN = [f for f in fields.SERVICE if f.required]

ACTIONS = {
    a.path: a
    for a in (
        Action(
            "status", "Change status", "Change status", fields.CHANGE_STATUS, inputs.StatusIn,
            lambda cases, call, sid, data: cases.subscriptions.change_status(call, sid, data),
            None,
        ),
        Action(
            "engineer", "Assign engineer", "Assign", fields.ASSIGN_ENGINEER,
            inputs.EngineerAssignmentIn,
            lambda cases, call, sid, data: cases.subscriptions.assign_engineer(call, sid, data),
            None,
        ),
        Action(
            "reopen", "Reopen subscription", "Reopen", fields.REOPEN, inputs.ReopenIn,
            lambda cases, call, sid, data: cases.subscriptions.reopen(call, sid, data),
            None, offered="closed",
        ),
        Action(
            "services", "Add service", "Add service", fields.ADD_SERVICE, inputs.ServiceIn,
            _add("services"), "services", lists=("ipv4", "ipv6"), check=custom_plan,
        ),
        Action(
            "devices", "Add device", "Add device", fields.DEVICE, inputs.DeviceIn,
            _add("devices"), "devices",
        ),
        Action(
            "hotspots", "Add hotspot account", "Add hotspot account", fields.ADD_HOTSPOT,
            inputs.HotspotIn, _add("hotspots"), "hotspot", moments=("expires_at",),
        ),
        Action(
            "billing", "Billing details", "Save billing details", fields.BILLING, inputs.BillingIn,
            lambda cases, call, sid, data: cases.account.set_billing(call, sid, data),
            "details",
        ),
        Action(
            "scheduled-status", "Schedule status change", "Schedule", fields.SCHEDULE_STATUS,
            inputs.ScheduledStatusIn,
            lambda cases, call, sid, data: cases.billing.schedule_status(call, sid, data),
            "summary", moments=("at",),
        ),
        Action(
            "touchpoints", "Add touchpoint", "Add touchpoint", fields.ADD_TOUCHPOINT,
            inputs.TouchpointIn,
            lambda cases, call, sid, data: cases.account.log_touchpoint(call, sid, data),
            "summary", moments=("occurred_at",), offered="always",
        ),
        Action(
            "payments", "Add payment", "Add payment", fields.ADD_PAYMENT, inputs.PaymentIn,
            lambda cases, call, sid, data: cases.account.record_payment(call, sid, data),
            "details", moments=("paid_at",), offered="always",
        ),
    )
}  # fmt: skip


@dataclass(frozen=True)
class ItemForm:
    """How one kind of item (a service, hotspot account, device) is edited and removed."""

    kind: ItemKind
    tab: str
    fields: tuple[Field, ...]
    lists: tuple[str, ...] = ()
    moments: tuple[str, ...] = ()
    on_plan: tuple[Field, ...] = ()  # the fields of one on a catalogue plan, if they differ

    def fields_for(self, item: dict[str, Any]) -> tuple[Field, ...]:
        """The edit form's fields for this item: a service on a plan has no plan name."""
        return self.on_plan if self.on_plan and item.get("plan_id") else self.fields

    def posted(self, names: Iterable[str]) -> tuple[Field, ...]:
        """The fields of an edit form as posted (a service on a plan's has no `plan`)."""
        return self.fields if not self.on_plan or "plan" in set(names) else self.on_plan

    def label(self, item: dict[str, Any]) -> str:
        """How the item is named in its dialogs' titles."""
        found = item.get("plan") or item.get("login") or item.get("name")
        return str(found or self.kind.label)


ITEMS = {
    "services": ItemForm(
        ITEM_KINDS["services"],
        "services",
        fields.SERVICE,
        lists=("ipv4", "ipv6"),
        on_plan=fields.SERVICE_ON_PLAN,
    ),
    "hotspots": ItemForm(
        ITEM_KINDS["hotspots"], "hotspot", fields.ADD_HOTSPOT, moments=("expires_at",)
    ),
    "devices": ItemForm(ITEM_KINDS["devices"], "devices", fields.DEVICE),
}
EDIT = "edit"  # the subscription's own fields, in the page's head


def offered(action: Action, closed: bool) -> bool:
    """Whether the form is offered on a subscription that is closed or not."""
    return action.offered == "always" or (action.offered == "closed") == closed
