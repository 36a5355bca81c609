"""The columns a `subscription.created` gives its row, read as cheaply as a rebuild needs.

A rebuild reads a million of these payloads. Most have exactly the shape the contract writes
(current schema version, UUIDs in their canonical text form), and for those the JSON is read
directly: values identical to the model's, at a fraction of the cost downstream, because the
UUIDs come out as asyncpg's own UUID class (a `uuid.UUID` whose hashing and binary encoding run
in C, not in Python). Any other shape — an older schema version, another spelling of a UUID, a
missing or mistyped field — goes through the contract's model, which decides as it always does.
"""

from __future__ import annotations

import json
from typing import Any

from asyncpg.pgproto.pgproto import UUID as FastUUID

from contracts import subscription as sev
from contracts.events import CURRENT_SCHEMA_VERSION
from plumbing.eventlog import StoredEvent

CREATED = sev.SubscriptionCreated.model_fields["type"].default
SCHEMA_VERSION = CURRENT_SCHEMA_VERSION[CREATED]
STATUSES = frozenset(status.value for status in sev.Status)
NOTIFICATION_LEVEL = sev.SubscriptionCreated.model_fields["notification_level"].default


def created_columns(event: StoredEvent) -> dict[str, Any]:
    """unique_id, name, status, description, notification_level and the four references."""
    return _plain(event) or _parsed(event)


def _parsed(event: StoredEvent) -> dict[str, Any]:
    payload = event.payload()
    assert isinstance(payload, sev.SubscriptionCreated)
    return {
        "unique_id": payload.unique_id,
        "name": payload.name,
        "status": str(payload.status),
        "description": payload.description,
        "notification_level": payload.notification_level,
        "contact_id": payload.contact_id,
        "organization_id": payload.organization_id,
        "engineer_id": payload.engineer_id,
        "service_contract_id": payload.service_contract_id,
    }


def _plain(event: StoredEvent) -> dict[str, Any] | None:
    """The columns from the JSON itself, or None unless it has the contract's usual shape."""
    if event.schema_version != SCHEMA_VERSION:
        return None
    data = json.loads(event.data_json)
    if type(data) is not dict or data.get("type", CREATED) != CREATED:
        return None
    unique_id, name, status = data.get("unique_id"), data.get("name"), data.get("status")
    description = data.get("description")
    level = data.get("notification_level", NOTIFICATION_LEVEL)
    if not (
        type(unique_id) is str
        and type(name) is str
        and type(status) is str
        and status in STATUSES
        and (description is None or type(description) is str)
        and type(level) is str
        and level == NOTIFICATION_LEVEL
    ):
        return None
    try:
        return {
            "unique_id": unique_id,
            "name": name,
            "status": status,
            "description": description,
            "notification_level": level,
            "contact_id": _uuid(data.get("contact_id")),
            "organization_id": _optional_uuid(data.get("organization_id")),
            "engineer_id": _uuid(data.get("engineer_id")),
            "service_contract_id": _optional_uuid(data.get("service_contract_id")),
        }
    except ValueError:
        return None


def _uuid(text: Any) -> FastUUID:
    """A UUID in its canonical text form (any case), else ValueError."""
    if type(text) is not str or len(text) != 36 or text[8:24:5] != "----":  # 8, 13, 18, 23
        raise ValueError(text)
    return FastUUID(text)  # ValueError unless the rest is hexadecimal


def _optional_uuid(text: Any) -> FastUUID | None:
    return None if text is None else _uuid(text)
