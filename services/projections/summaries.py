"""One sentence per event for the History tab, in words a support agent understands."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from contracts import directory as dev
from contracts import subscription as sev
from contracts.base import Event, FieldChange

Names = Callable[[UUID | None], str]
"""Display name of a directory entry as of the event (its id when unknown)."""

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


def contract_label(number: str | None, title: str | None) -> str:
    """How a service contract is named in a sentence: `SC-7 (Fibre 100)`."""
    return f"{number} ({title})" if number and title else str(number or title)


def summarise(event_type: str, payload: Event, names: Names) -> str:
    """The sentence for one event; a generic one for types without their own."""
    kind = KIND_LABELS.get(event_type.split(".", 1)[0], "Entry")
    match payload:
        case dev.ServiceContractRegistered():
            return f"{kind} registered: {contract_label(payload.number, payload.title)}"
        case dev.ContactRegistered() | dev.OrganizationRegistered() | dev.EngineerRegistered():
            return f"{kind} registered: {payload.name}"
        case (
            dev.ContactEdited()
            | dev.OrganizationEdited()
            | dev.EngineerEdited()
            | dev.ServiceContractEdited()
            | sev.SubscriptionEdited()
        ):
            return _changes(payload.changes, names) or f"{kind} edited"
        case (
            dev.ContactDeactivated()
            | dev.OrganizationDeactivated()
            | dev.EngineerDeactivated()
            | dev.ServiceContractDeactivated()
        ):
            return _with_reason(f"{kind} deactivated", payload.reason)
        case sev.SubscriptionCreated():
            return f"Subscription {payload.unique_id} created ({payload.status.value})"
        case sev.SubscriptionStatusChanged():
            moved = f"Status changed from {payload.from_status.value} to {payload.to_status.value}"
            return _with_reason(moved, payload.reason)
        case sev.SubscriptionEngineerAssigned():
            old, new = names(payload.from_engineer_id), names(payload.to_engineer_id)
            return f"Engineer changed from {old} to {new}"
        case _:
            return _generic(event_type)


def _changes(changes: dict[str, FieldChange], names: Names) -> str:
    sentences = []
    # Stored payloads are jsonb, which keeps no key order: the labels' order is the sentence's.
    order = {field: i for i, field in enumerate(FIELD_LABELS)}
    for field, change in sorted(changes.items(), key=lambda item: order.get(item[0], len(order))):
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


def _with_reason(sentence: str, reason: str | None) -> str:
    return f"{sentence}: {reason}" if reason else sentence


def _generic(event_type: str) -> str:
    """`subscription.service_added` -> `Service added`."""
    _, _, action = event_type.partition(".")
    return (action or event_type).replace("_", " ").capitalize()


def _uuid(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None
