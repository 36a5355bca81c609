"""The inner page's forms as dialogs: each with its values (the stored ones, or what was typed
in a refused form), errors and where it opens. A dialog is a `<dialog>` the page's script opens
over the page; without the script its opener is a link that renders the page with the dialog
open in place (`?open=<key>`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from services.subscription.web.actions import ACTIONS, EDIT, ITEMS, Action, ItemForm
from services.subscription.web.choices import Option
from services.subscription.web.fields import (
    CHANGE_PLAN,
    EDIT_SUBSCRIPTION,
    REFUND,
    SHAPING,
    Field,
)
from services.subscription.web.forms import Rejected

SHAPING_NAMES = {f.name for f in SHAPING}
DEFAULTS = {
    "services": {"status": "active"},
    "hotspots": {"status": "active"},
    "touchpoints": {"kind": "call"},
    "billing": {"cycle": "monthly"},
}


@dataclass(frozen=True)
class Dialog:
    """One form of the inner page, as the template shows it."""

    key: str  # unique on the page: `status`, `edit-services-<id>`, `refund-<id>`, ...
    title: str
    button: str
    action: str  # the URL it posts to
    fields: tuple[Field, ...]
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    message: str | None = None
    notes: dict[str, str] = field(default_factory=dict)  # what someone else saved meanwhile
    hidden: dict[str, str] = field(default_factory=dict)
    options: dict[str, list[Option]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # a picker's box: the entry's name
    pickers: bool = False  # directory fields search as you type (templates/pickers.html)
    text: str | None = None  # a confirmation's question
    danger: bool = False
    open: bool = False
    opener: str = ""  # the label of the button that opens it


@dataclass(frozen=True)
class Refused:
    """A refused form: its dialog's key, what was typed, why, and what to send next time."""

    key: str
    typed: dict[str, str]
    refused: Rejected
    notes: dict[str, str] = field(default_factory=dict)
    hidden: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # what its pickers' boxes held


def subscription_values(found: dict[str, Any]) -> dict[str, str]:
    """The subscription's editable fields as the edit form shows them."""

    def ref(key: str) -> str:
        return str(found[key]["id"]) if found.get(key) else ""

    return {
        "name": found["name"],
        "contact_id": ref("contact"),
        "organization_id": ref("organization"),
        "service_contract_id": ref("service_contract"),
        "description": found.get("description") or "",
    }


def subscription_labels(found: dict[str, Any]) -> dict[str, str]:
    """What the edit form's pickers show: the names of the entries the subscription refers to."""
    contract = found.get("service_contract")
    shown = {
        "contact_id": found["contact"]["name"],
        "engineer_id": found["engineer"]["name"],
        "organization_id": found["organization"]["name"] if found.get("organization") else "",
        "service_contract_id": f"{contract['number']} — {contract['title']}" if contract else "",
    }
    return {name: text for name, text in shown.items() if text}


def shown(fields: Iterable[Field], item: dict[str, Any]) -> dict[str, str]:
    """A stored item's values as its form shows them: lists joined, moments in UTC with `Z`
    (the page's script shows them in the browser's zone), absent ones empty."""
    found = {}
    for f in fields:
        value = item.get(f.name)
        if value is None:
            found[f.name] = ""
        elif isinstance(value, list | tuple):
            found[f.name] = ", ".join(str(v) for v in value)
        elif isinstance(value, datetime):
            found[f.name] = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") + "Z"
        else:
            found[f.name] = str(value)
    return found


def _following(
    fields: tuple[Field, ...], values: dict[str, str], item: dict[str, Any]
) -> tuple[tuple[Field, ...], dict[str, str]]:
    """A service on a plan's form: its overrides filled in, the values it follows of its plan
    empty with the plan's value as the hint (a value typed there becomes an override)."""
    own = set(item.get("overrides") or ())
    shaped, left = [], dict(values)
    for f in fields:
        if f.name in SHAPING_NAMES and f.name not in own:
            left[f.name] = ""
            plan = "none" if item.get(f.name) is None else str(item[f.name])
            f = replace(f, hint=f"Empty: the plan's ({plan}); a value overrides it")
        elif f.name in SHAPING_NAMES:
            f = replace(f, hint="Overrides the plan's; empty: the plan's again")
        shaped.append(f)
    return tuple(shaped), left


def opened(values: dict[str, str]) -> dict[str, str]:
    """The hidden field that remembers what the form showed when it was opened."""
    return {"opened": json.dumps(values, separators=(",", ":"))}


class Builder:
    """The dialogs of one page view, the refused one filled with what was typed."""

    def __init__(self, sid: str, refused: Refused | None, open_key: str | None) -> None:
        self._base = f"/admin/subscriptions/{sid}"
        self._refused = refused
        self._open = open_key
        self.built: list[Dialog] = []

    def add(self, dialog: Dialog) -> Dialog:
        """The dialog, opened when asked for, with what was typed when it was refused."""
        refused = self._refused
        if refused is not None and refused.key == dialog.key:
            dialog = replace(
                dialog,
                values=refused.typed,
                errors=refused.refused.fields,
                message=refused.refused.message,
                notes=refused.notes,
                hidden={**dialog.hidden, **refused.hidden},
                labels={**dialog.labels, **refused.labels},
                open=True,
            )
        elif self._open == dialog.key:
            dialog = replace(dialog, open=True)
        self.built.append(dialog)
        return dialog

    def action(self, action: Action, values: dict[str, str] | None = None, **more: Any) -> Dialog:
        """The dialog of a form of the subscription (status, add a service, billing, ...)."""
        given = values if values is not None else DEFAULTS.get(action.path, {})
        return self.add(
            Dialog(
                action.path, action.title, action.button, f"{self._base}/{action.path}",
                action.fields, dict(given), opener=more.pop("opener", action.title), **more,
            )
        )  # fmt: skip

    def edit(self, found: dict[str, Any]) -> Dialog:
        """The subscription's own fields, with the version the form was opened at."""
        values = subscription_values(found)
        hidden = {"version": str(found["version"]), **opened(values)}
        return self.add(
            Dialog(
                EDIT, "Edit subscription", "Save changes", f"{self._base}/{EDIT}",
                EDIT_SUBSCRIPTION, values, hidden=hidden, labels=subscription_labels(found),
                pickers=True, opener="Edit",
            )
        )  # fmt: skip

    def item(
        self, path: str, item: dict[str, Any], options: dict[str, list[Option]] | None = None
    ) -> tuple[Dialog, Dialog]:
        """The edit and remove dialogs of one service, hotspot account or device."""
        form: ItemForm = ITEMS[path]
        name, url = form.label(item), f"{self._base}/{path}/{item['id']}"
        fields = form.fields_for(item)
        values = shown(fields, item)
        if fields is not form.fields:  # on a plan: what it follows of the plan is left empty
            fields, values = _following(fields, values, item)
        edit = self.add(
            Dialog(
                f"edit-{path}-{item['id']}", f"Edit {form.kind.label} {name}", "Save changes",
                url, fields, values, hidden=opened(values), options=options or {},
                opener="Edit",
            )
        )  # fmt: skip
        remove = self.add(
            Dialog(
                f"remove-{path}-{item['id']}", f"Remove {form.kind.label} {name}",
                f"Remove {form.kind.label}", f"{url}/remove", (),
                text=f"Remove the {form.kind.label} {name} from this subscription? "
                "Its history is kept.",
                danger=True, opener="Remove",
            )
        )  # fmt: skip
        return edit, remove

    def change_plan(self, service: dict[str, Any], plans: list[Option]) -> Dialog:
        """Move a service to another plan of the catalogue: now, at the next cycle or on a
        date."""
        name, url = service["plan"], f"{self._base}/services/{service['id']}/plan"
        current = "a custom plan" if service.get("plan_id") is None else f"plan {name}"
        offered = [p for p in plans if p.value != str(service.get("plan_id"))]
        pending = service.get("pending_plan_change")
        instead = f" It replaces the change to {pending['plan']} waiting." if pending else ""
        return self.add(
            Dialog(
                f"plan-services-{service['id']}", f"Change plan of service {name}",
                "Change plan", url, CHANGE_PLAN, {"effective": "now"},
                options={"plan_id": offered}, opener="Change plan",
                text=f"On {current} now. A change now credits the unused part of the old price "
                "and charges the rest of the period at the new one; a later one waits until "
                f"then and can be cancelled.{instead}",
            )
        )  # fmt: skip

    def cancel_plan(self, service: dict[str, Any]) -> Dialog:
        """Drop the plan change pending for a service."""
        pending = service["pending_plan_change"]
        at = pending["effective_at"].astimezone(UTC).strftime("%Y-%m-%d %H:%M")
        return self.add(
            Dialog(
                f"cancel-plan-{service['id']}", f"Cancel pending change of service "
                f"{service['plan']}", "Cancel pending change",
                f"{self._base}/services/{service['id']}/plan/cancel", (),
                text=f"The service stays on {service['plan']} instead of moving to "
                f"{pending['plan']} on {at} UTC.",
                danger=True, opener="Cancel pending change",
            )
        )  # fmt: skip

    def cancel_scheduled(self, change: dict[str, Any]) -> Dialog:
        """Drop a status change scheduled for later."""
        at = change["at"].astimezone(UTC).strftime("%Y-%m-%d %H:%M")
        return self.add(
            Dialog(
                f"cancel-scheduled-{change['id']}",
                f"Cancel scheduled change to {change['status']}", "Cancel scheduled change",
                f"{self._base}/scheduled-status/{change['id']}/cancel", (),
                text=f"The subscription will not change to {change['status']} on {at} UTC.",
                danger=True, opener="Cancel",
            )
        )  # fmt: skip

    def refund(self, payment: dict[str, Any]) -> Dialog:
        """A refund or void against one payment, at most what is left of it."""
        left = f"{payment['net']} {payment['currency']}"
        return self.add(
            Dialog(
                f"refund-{payment['id']}", f"Refund payment {payment['amount']} "
                f"{payment['currency']}", "Record refund",
                f"{self._base}/payments/{payment['id']}/refund", REFUND,
                {"amount": str(payment["net"])}, text=f"{left} left to refund.", opener="Refund",
            )
        )  # fmt: skip

    def orphan(self) -> Rejected | None:
        """A refusal whose dialog is no longer on the page (its item was removed meanwhile)."""
        refused = self._refused
        if refused is None or any(d.key == refused.key for d in self.built):
            return None
        return refused.refused


__all__ = ["ACTIONS", "Builder", "Dialog", "Refused", "shown", "subscription_values"]
