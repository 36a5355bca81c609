"""Decider of directory entries: contacts, organizations, engineers and service contracts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import assert_never

from contracts import directory as ev
from contracts.base import Event, FieldChange
from contracts.commands import (
    DeactivateEntry,
    DirectoryCommand,
    DirectoryKind,
    EditEntry,
    ReactivateEntry,
    RegisterEntry,
)
from contracts.values import check_text
from services.subscription.domain.errors import AlreadyActive, AlreadyExists, Invalid, NotFound

FIELDS: Mapping[DirectoryKind, tuple[str, ...]] = {
    "contact": ("name", "email", "phone", "address"),
    "organization": ("name", "email", "phone", "address"),
    "engineer": ("name", "email"),
    "service_contract": ("number", "title", "starts_on", "ends_on", "terms"),
}
# Fields that may span lines; every other text is one line.
MULTILINE = frozenset({"address", "terms", "reason"})
# Longest text of a field (200 when not named): the read models index names.
MAX_LENGTH = {"address": 500, "terms": 5000, "reason": 500}
REQUIRED: Mapping[DirectoryKind, tuple[str, ...]] = {
    "contact": ("name",),
    "organization": ("name",),
    "engineer": ("name",),
    "service_contract": ("number", "title"),
}
_REGISTERED: Mapping[DirectoryKind, type[Event]] = {
    "contact": ev.ContactRegistered,
    "organization": ev.OrganizationRegistered,
    "engineer": ev.EngineerRegistered,
    "service_contract": ev.ServiceContractRegistered,
}
_EDITED = {
    "contact": ev.ContactEdited,
    "organization": ev.OrganizationEdited,
    "engineer": ev.EngineerEdited,
    "service_contract": ev.ServiceContractEdited,
}
_DEACTIVATED = {
    "contact": ev.ContactDeactivated,
    "organization": ev.OrganizationDeactivated,
    "engineer": ev.EngineerDeactivated,
    "service_contract": ev.ServiceContractDeactivated,
}
_REACTIVATED = {
    "contact": ev.ContactReactivated,
    "organization": ev.OrganizationReactivated,
    "engineer": ev.EngineerReactivated,
    "service_contract": ev.ServiceContractReactivated,
}
LABEL: Mapping[DirectoryKind, str] = {
    "contact": "contact",
    "organization": "organization",
    "engineer": "engineer",
    "service_contract": "service contract",
}


@dataclass(frozen=True)
class Unregistered:
    pass


@dataclass(frozen=True)
class Registered:
    kind: DirectoryKind
    fields: Mapping[str, str | None] = field(default_factory=dict)
    active: bool = True


EntryState = Unregistered | Registered

initial_state: EntryState = Unregistered()


def decide(command: DirectoryCommand, state: EntryState) -> list[Event]:
    """Events that carry out a directory command, or a DomainError."""
    match command:
        case RegisterEntry():
            if isinstance(state, Registered):
                raise AlreadyExists(f"{LABEL[command.kind]} {command.entry_id} already exists")
            values = _validated(command.kind, dict.fromkeys(FIELDS[command.kind]) | command.fields)
            return [_REGISTERED[command.kind](**values)]
        case EditEntry():
            entry = _existing(state, command.kind, command.entry_id)
            values = _validated(command.kind, {**entry.fields, **command.fields})
            changes = {
                name: FieldChange(old=entry.fields.get(name), new=values[name])
                for name in command.fields
                if entry.fields.get(name) != values[name]
            }
            return [_EDITED[command.kind](changes=changes)] if changes else []
        case DeactivateEntry():
            entry = _existing(state, command.kind, command.entry_id)
            reason = _clean("reason", command.reason)
            return [_DEACTIVATED[command.kind](reason=reason)] if entry.active else []
        case ReactivateEntry():
            entry = _existing(state, command.kind, command.entry_id)
            if entry.active:
                raise AlreadyActive(
                    f"{LABEL[command.kind]} {command.entry_id} is active: "
                    "only a deactivated one can be reactivated"
                )
            reason = _clean("reason", command.reason)
            return [_REACTIVATED[command.kind](reason=reason)]
        case _:
            assert_never(command)


def evolve(state: EntryState, event: Event) -> EntryState:
    """State after one event of a directory stream."""
    match event:
        case (
            ev.ContactRegistered()
            | ev.OrganizationRegistered()
            | ev.EngineerRegistered()
            | ev.ServiceContractRegistered()
        ):
            kind: DirectoryKind = event.type.split(".")[0]  # type: ignore[assignment]
            values = event.model_dump(mode="json", exclude={"type"})
            return Registered(kind=kind, fields=values)
        case (
            ev.ContactEdited()
            | ev.OrganizationEdited()
            | ev.EngineerEdited()
            | ev.ServiceContractEdited()
        ):
            assert isinstance(state, Registered)
            new = {name: change.new for name, change in event.changes.items()}
            return Registered(kind=state.kind, fields={**state.fields, **new}, active=state.active)
        case (
            ev.ContactDeactivated()
            | ev.OrganizationDeactivated()
            | ev.EngineerDeactivated()
            | ev.ServiceContractDeactivated()
        ):
            assert isinstance(state, Registered)
            return Registered(kind=state.kind, fields=state.fields, active=False)
        case (
            ev.ContactReactivated()
            | ev.OrganizationReactivated()
            | ev.EngineerReactivated()
            | ev.ServiceContractReactivated()
        ):
            assert isinstance(state, Registered)
            return Registered(kind=state.kind, fields=state.fields, active=True)
        case _:
            return state


def _existing(state: EntryState, kind: DirectoryKind, entry_id: object) -> Registered:
    if not isinstance(state, Registered) or state.kind != kind:
        raise NotFound(f"{LABEL[kind]} {entry_id} not found")
    return state


def _validated(kind: DirectoryKind, values: Mapping[str, str | None]) -> dict[str, str | None]:
    unknown = set(values) - set(FIELDS[kind])
    if unknown:
        name = sorted(unknown)[0]
        raise Invalid(f"{LABEL[kind]} has no field {name!r}", f"/{name}")
    cleaned = {name: _clean(name, values.get(name)) for name in FIELDS[kind]}
    for name in REQUIRED[kind]:
        if not cleaned[name]:
            raise Invalid(f"{name} must not be empty", f"/{name}")
    if kind == "service_contract":
        _check_dates(cleaned.get("starts_on"), cleaned.get("ends_on"))
    return cleaned


def _clean(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    cleaned = value.strip()
    limit = MAX_LENGTH.get(name, 200)
    if len(cleaned) > limit:
        raise Invalid(f"{name} must be at most {limit} characters", f"/{name}")
    try:
        return check_text(cleaned, multiline=name in MULTILINE) or None
    except ValueError as exc:
        raise Invalid(f"{name} {exc}", f"/{name}") from None


def _check_dates(starts_on: str | None, ends_on: str | None) -> None:
    parsed = {
        name: _parse_date(name, value)
        for name, value in (("starts_on", starts_on), ("ends_on", ends_on))
        if value is not None
    }
    if len(parsed) == 2 and parsed["ends_on"] < parsed["starts_on"]:
        raise Invalid("ends_on must not be before starts_on", "/ends_on")


def _parse_date(name: str, value: str) -> date:
    try:
        parsed: date | None = date.fromisoformat(value)
    except ValueError:
        parsed = None
    # Python 3.11 also parses "20250101" and "2025-W01-1"; only YYYY-MM-DD may be stored.
    if parsed is None or parsed.isoformat() != value:
        raise Invalid(f"{name} must be a date (YYYY-MM-DD)", f"/{name}")
    return parsed
