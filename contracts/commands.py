"""Commands the subscription service decides on.

Commands are imperative, carry their own ids and clock (`now`), and reject unknown fields. The
HTTP API builds them from request bodies; the importer sends them in batches over NATS.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from contracts.base import Command
from contracts.subscription import Status

DirectoryKind = Literal["contact", "organization", "engineer", "service_contract"]

SubscriptionField = Literal[
    "name", "description", "contact_id", "organization_id", "service_contract_id"
]


class RegisterEntry(Command):
    """Add a contact, organization, engineer or service contract to the directory."""

    kind: DirectoryKind
    entry_id: UUID
    fields: dict[str, str | None]
    now: datetime


class EditEntry(Command):
    """Change some fields of a directory entry (only the fields given)."""

    kind: DirectoryKind
    entry_id: UUID
    fields: dict[str, str | None]
    now: datetime


class DeactivateEntry(Command):
    """Stop a directory entry from being newly referenced."""

    kind: DirectoryKind
    entry_id: UUID
    reason: str | None = None
    now: datetime


class CreateSubscription(Command):
    subscription_id: UUID
    unique_id: str
    name: str
    contact_id: UUID
    organization_id: UUID | None = None
    engineer_id: UUID
    service_contract_id: UUID | None = None
    status: Status
    description: str | None = None
    now: datetime


class EditSubscription(Command):
    """Change some of name, description, contact, organization, service contract."""

    subscription_id: UUID
    changes: dict[SubscriptionField, str | None]
    now: datetime


class ChangeStatus(Command):
    subscription_id: UUID
    status: Status
    reason: str | None = None
    now: datetime


class AssignEngineer(Command):
    subscription_id: UUID
    engineer_id: UUID
    now: datetime


DirectoryCommand = RegisterEntry | EditEntry | DeactivateEntry
SubscriptionCommand = CreateSubscription | EditSubscription | ChangeStatus | AssignEngineer
