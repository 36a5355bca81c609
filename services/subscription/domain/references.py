"""What a subscription command names: directory references and its own texts, checked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from uuid import UUID

from contracts.commands import (
    AssignEngineer,
    CreateSubscription,
    DirectoryKind,
    EditSubscription,
    SubscriptionCommand,
)
from contracts.values import check_text
from services.subscription.domain.directory import LABEL
from services.subscription.domain.errors import Invalid, InvalidReference

# Fields that may span lines; the name is one line.
MULTILINE = frozenset({"description", "reason"})
# Longest text of each field: the read models index names, and no index row holds 2704 bytes.
MAX_LENGTH = {"unique_id": 64, "name": 200, "description": 5000, "reason": 500}


@dataclass(frozen=True)
class Reference:
    """What a subscription needs to know of a directory entry it points at."""

    kind: DirectoryKind
    active: bool


Directory = Mapping[UUID, Reference]
"""Directory entries of the command's tenant, looked up by the ids the command mentions."""


REFERENCE_FIELDS: Mapping[str, DirectoryKind] = {
    "contact_id": "contact",
    "organization_id": "organization",
    "engineer_id": "engineer",
    "service_contract_id": "service_contract",
}


def referenced_ids(command: SubscriptionCommand) -> set[UUID]:
    """Directory ids the decider must be shown to decide this command."""
    match command:
        case CreateSubscription():
            found = {getattr(command, name) for name in REFERENCE_FIELDS}
        case EditSubscription():
            # A malformed id is left out here: `decide` refuses it with the field's pointer.
            found = {try_uuid(v) for k, v in command.changes.items() if k in REFERENCE_FIELDS}
        case AssignEngineer():
            found = {command.engineer_id}
        case _:
            found = set()
    return {i for i in found if i is not None}


def require(directory: Directory, field_name: str, entry_id: UUID) -> None:
    kind = REFERENCE_FIELDS[field_name]
    ref = directory.get(entry_id)
    if ref is None or ref.kind != kind:
        raise InvalidReference(f"unknown {LABEL[kind]} {entry_id}", f"/{field_name}")
    if not ref.active:
        raise InvalidReference(
            f"{LABEL[kind]} {entry_id} is deactivated and cannot be newly referenced",
            f"/{field_name}",
        )


def required_text(value: str | None, field_name: str) -> str:
    cleaned = optional_text(value, field_name)
    if cleaned is None:
        raise Invalid(f"{field_name} must not be empty", f"/{field_name}")
    return cleaned


def optional_text(value: str | None, field_name: str) -> str | None:
    if value is None:
        return None
    cleaned = value.strip()
    if len(cleaned) > MAX_LENGTH[field_name]:
        limit = MAX_LENGTH[field_name]
        raise Invalid(f"{field_name} must be at most {limit} characters", f"/{field_name}")
    try:
        return check_text(cleaned, multiline=field_name in MULTILINE) or None
    except ValueError as exc:
        raise Invalid(f"{field_name} {exc}", f"/{field_name}") from None


def as_uuid(value: str | UUID | None) -> UUID | None:
    if value is None or isinstance(value, UUID):
        return value
    return UUID(value)


def try_uuid(value: str | None) -> UUID | None:
    try:
        return as_uuid(value)
    except ValueError:
        return None
