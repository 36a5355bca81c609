"""One sentence per event for the History tab, in words a support agent understands.

Sentences are chosen by event type (a dictionary look-up: `match` on pydantic classes costs an
ABC instance check per case, which a rebuild of a million events feels). A type without a
sentence of its own gets a generic one made from its name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from contracts.base import Event, FieldChange

Names = Callable[[UUID | None], str]
"""Display name of a directory entry as of the event (its id when unknown)."""
Sentence = Callable[[Any, Names], str]

KIND_LABELS = {
    "contact": "Contact",
    "organization": "Organization",
    "engineer": "Engineer",
    "service_contract": "Service contract",
    "subscription": "Subscription",
}
FIELD_LABELS = {
    "name": "Name",
    "email": "Email",
    "phone": "Phone",
    "address": "Address",
    "number": "Number",
    "title": "Title",
    "starts_on": "Start date",
    "ends_on": "End date",
    "terms": "Terms",
    "description": "Description",
    "status": "Status",
    "contact_id": "Contact",
    "organization_id": "Organization",
    "engineer_id": "Engineer",
    "service_contract_id": "Service contract",
}
REFERENCES = ("contact_id", "organization_id", "engineer_id", "service_contract_id")
NOTE_LENGTH = 120


def contract_label(number: str | None, title: str | None) -> str:
    """How a service contract is named in a sentence: `SC-7 (Fibre 100)`."""
    return f"{number} ({title})" if number and title else str(number or title)


def summarise(event_type: str, payload: Event, names: Names) -> str:
    """The sentence for one event; a generic one for types without their own."""
    sentence = SENTENCES.get(event_type)
    if sentence is None:
        return _generic(event_type)
    return sentence(payload, names)


def changes(edited: dict[str, FieldChange], names: Names) -> str:
    """`Name changed from "x" to "y"; Organization set to Acme`, in a fixed field order."""
    sentences = []
    # Stored payloads are jsonb, which keeps no key order: the labels' order is the sentence's.
    order = {field: i for i, field in enumerate(FIELD_LABELS)}
    for field, change in sorted(edited.items(), key=lambda item: order.get(item[0], len(order))):
        label = FIELD_LABELS.get(field, field.replace("_", " ").capitalize())
        if field in REFERENCES:
            old = names(_uuid(change.old)) if change.old else None
            new = names(_uuid(change.new)) if change.new else None
        else:
            old = f'"{change.old}"' if change.old is not None else None
            new = f'"{change.new}"' if change.new is not None else None
        if old is None and new is not None:
            sentences.append(f"{label} set to {new}")
        elif new is None and old is not None:
            sentences.append(f"{label} removed (was {old})")
        else:
            sentences.append(f"{label} changed from {old} to {new}")
    return "; ".join(sentences)


def _directory_sentences(kind: str) -> dict[str, Sentence]:
    label = KIND_LABELS[kind]

    def registered(p: Any, _: Names) -> str:
        if kind == "service_contract":
            return f"{label} registered: {contract_label(p.number, p.title)}"
        return f"{label} registered: {p.name}"

    return {
        f"{kind}.registered": registered,
        f"{kind}.edited": lambda p, n: changes(p.changes, n) or f"{label} edited",
        f"{kind}.deactivated": lambda p, _: _with_reason(f"{label} deactivated", p.reason),
        f"{kind}.reactivated": lambda p, _: _with_reason(f"{label} reactivated", p.reason),
    }


# Status changes that happened on their own, by their cause.
CAUSES = {
    "overdue": "automatically: an invoice unpaid past the grace days",
    "paid": "automatically: the balance was paid",
    "scheduled": "as scheduled",
}


def _status_changed(p: Any, _: Names) -> str:
    moved = f"Status changed from {p.from_status} to {p.to_status}"  # StrEnum: the value
    cause = CAUSES.get(getattr(p, "cause", None) or "")
    if cause:
        moved = f"{moved} ({cause})"
    return _with_reason(moved, p.reason)


def _updated(what: str, label: Any, changed: list[str]) -> str:
    fields = ", ".join(c.replace("_", " ") for c in changed)
    return f"{what} {label} updated" + (f": {fields}" if fields else "")


SENTENCES: dict[str, Sentence] = {
    **_directory_sentences("contact"),
    **_directory_sentences("organization"),
    **_directory_sentences("engineer"),
    **_directory_sentences("service_contract"),
    "subscription.created": lambda p, _: f"Subscription {p.unique_id} created ({p.status})",
    "subscription.edited": lambda p, n: changes(p.changes, n) or "Subscription edited",
    "subscription.status_changed": _status_changed,
    "subscription.reopened": lambda p, _: _with_reason(
        f"Reopened from {p.from_status} to {p.to_status}", p.reason
    ),
    "subscription.engineer_assigned": lambda p, n: (
        f"Engineer changed from {n(p.from_engineer_id)} to {n(p.to_engineer_id)}"
    ),
    "subscription.service_added": lambda p, _: (
        f"Service added: {p.plan} ({p.download_max_mbps}/{p.upload_max_mbps} Mbps)"
    ),
    "subscription.service_updated": lambda p, _: _updated("Service", p.plan, p.changed),
    "subscription.service_status_changed": lambda p, _: (
        f"Service status changed from {p.from_status} to {p.to_status}"
    ),
    "subscription.service_removed": lambda p, _: "Service removed",
    "subscription.service_plan_changed": lambda p, _: _plan_changed(p),
    "subscription.service_plan_change_scheduled": lambda p, _: (
        f"Service plan change to {p.plan} scheduled for {p.effective_at:%Y-%m-%d %H:%M} UTC"
    ),
    "subscription.service_plan_change_cancelled": lambda p, _: (
        "Pending service plan change cancelled"
    ),
    "subscription.hotspot_added": lambda p, _: f"Hotspot account added: {p.login}",
    "subscription.hotspot_updated": lambda p, _: _updated("Hotspot account", p.login, p.changed),
    "subscription.hotspot_removed": lambda p, _: "Hotspot account removed",
    "subscription.device_linked": lambda p, _: f"Device linked: {p.name} ({p.device_type})",
    "subscription.device_updated": lambda p, _: _updated("Device", p.name, p.changed),
    "subscription.device_unlinked": lambda p, _: "Device unlinked",
    "subscription.billing_set": lambda p, _: (
        f"Billing set: {p.plan}, {p.price} {p.currency} {p.cycle}, billed on day {p.billing_day}"
    ),
    "subscription.payment_recorded": lambda p, _: (
        f"Payment recorded: {p.amount} {p.currency} by {p.method}"
    ),
    "subscription.payment_refunded": lambda p, _: _with_reason(
        f"Payment refunded: {p.amount}", p.reason
    ),
    "subscription.touchpoint_logged": lambda p, _: (
        f"{p.kind.replace('_', ' ').capitalize()} logged: {_shortened(p.note)}"
    ),
    "subscription.invoice_issued": lambda p, _: (
        f"Invoice {p.number} issued: {p.total} {p.currency} for {p.period_start} to "
        f"{p.period_end}, due {p.due_on}"
    ),
    "subscription.status_change_scheduled": lambda p, _: _with_reason(
        f"Status change to {p.to_status} scheduled for {p.at:%Y-%m-%d %H:%M} UTC", p.reason
    ),
    "subscription.status_change_unscheduled": lambda p, _: (
        "Scheduled status change cancelled"
        if p.reason == "cancelled"
        else _with_reason("Scheduled status change dropped", p.reason)
    ),
    "plan.created": lambda p, _: (
        f"Plan {p.name} created: {p.price} {p.currency} {p.cycle}, "
        f"{p.download_max_mbps}/{p.upload_max_mbps} Mbps"
    ),
    "plan.edited": lambda p, _: _updated("Plan", p.name, p.changed),
    "plan.retired": lambda p, _: _with_reason("Plan retired", p.reason),
}


def _plan_changed(p: Any) -> str:
    moved = (
        f"Service plan changed from {p.from_plan} to {p.plan} "
        f"({p.download_max_mbps}/{p.upload_max_mbps} Mbps)"
    )
    r = p.proration
    if r is None:
        return moved
    return (
        f"{moved}: credit {r.credit} {r.currency}, charge {r.charge} {r.currency} "
        f"for {r.days_left} of {r.days_in_period} days"
    )


def _with_reason(sentence: str, reason: str | None) -> str:
    return f"{sentence}: {reason}" if reason else sentence


def _shortened(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= NOTE_LENGTH else flat[: NOTE_LENGTH - 1] + "…"


def _generic(event_type: str) -> str:
    """`subscription.thing_happened` -> `Thing happened`."""
    _, _, action = event_type.partition(".")
    return (action or event_type).replace("_", " ").capitalize()


def _uuid(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None
