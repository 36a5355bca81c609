"""Shortcuts of the list projection's fold: `subscription.created` payloads of the usual shape
are read straight from the JSON, `SUB-<n>` numbers without the pattern. Each must give what the
long way gives, or leave the case to it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from pydantic import ValidationError

from plumbing.eventlog import StoredEvent
from services.projections.created import _parsed, _plain, created_columns
from services.projections.subscriptions import UNIQUE_NUMBER, unique_number

CONTACT, ENGINEER, ORGANIZATION = uuid4(), uuid4(), uuid4()
USUAL: dict[str, Any] = {
    "unique_id": "SUB-0000042",
    "name": "Home fibre",
    "contact_id": str(CONTACT),
    "organization_id": None,
    "engineer_id": str(ENGINEER),
    "service_contract_id": None,
    "status": "Active",
    "notification_level": "Now",
    "description": None,
}


def changed(**fields: Any) -> dict[str, Any]:
    return {**USUAL, **fields}


def without(*keys: str) -> dict[str, Any]:
    return {k: v for k, v in USUAL.items() if k not in keys}


# (payload, read straight from the JSON?)
READ = [
    (USUAL, True),
    (changed(organization_id=str(ORGANIZATION), description="Tab\there\nback\\slash"), True),
    (changed(contact_id=str(CONTACT).upper()), True),
    (without("description", "notification_level", "organization_id", "service_contract_id"), True),
    (changed(type="subscription.created", added_later={"x": 1}), True),
    (changed(status="Suspended", name="Ωmega ☃"), True),
    (changed(contact_id=CONTACT.hex), False),  # another spelling: the model decides
    (changed(engineer_id=f"urn:uuid:{ENGINEER}"), False),
]
REFUSED = [
    changed(status="active"),
    changed(status="Gone"),
    changed(name=7),
    changed(unique_id=None),
    changed(description=3),
    changed(notification_level="Later"),
    changed(contact_id="not-a-uuid-but-36-characters-long!!"),
    changed(contact_id="8aad0665-ef30-441d-b505-c5639fea97cz"),
    changed(organization_id=12),
    changed(type="subscription.edited"),
    without("contact_id"),
    without("engineer_id"),
    without("status"),
]


def event(payload: dict[str, Any], schema_version: int = 1) -> StoredEvent:
    return StoredEvent(
        position=1,
        txid=1,
        event_id=uuid4(),
        tenant_id="t",
        stream_id=uuid4(),
        stream_type="subscription",
        version=1,
        type="subscription.created",
        schema_version=schema_version,
        data_json=json.dumps(payload),
        metadata_json='{"actor": "test"}',
        occurred_at=datetime.now(UTC),
    )


@pytest.mark.parametrize(("payload", "plain"), READ)
def test_the_columns_are_the_models(payload: dict[str, Any], plain: bool) -> None:
    expected = _parsed(event(payload))
    assert (_plain(event(payload)) is not None) is plain
    found = created_columns(event(payload))
    assert found == expected
    assert [type(v) is str for v in found.values()] == [type(v) is str for v in expected.values()]
    assert all(isinstance(found[k], UUID) for k in ("contact_id", "engineer_id"))


@pytest.mark.parametrize("payload", REFUSED)
def test_what_the_model_refuses_is_refused(payload: dict[str, Any]) -> None:
    assert _plain(event(payload)) is None
    with pytest.raises(ValidationError):
        created_columns(event(payload))


@pytest.mark.parametrize(
    "unique_id",
    ["SUB-1", "SUB-0000042", "SUB-", "SUB-12\n", "SUB-١٢٣", "SUB-12a", "SUB-" + "9" * 18,
     "SUB-" + "9" * 19, "sub-1", "LEGACY-7", "SUB-²", "SUB--1", "SUB-+1", "SUB- 1"],
)  # fmt: skip
def test_unique_numbers_are_the_patterns(unique_id: str) -> None:
    match = UNIQUE_NUMBER.match(unique_id)
    assert unique_number(unique_id) == (int(match.group(1)) if match else 0)
