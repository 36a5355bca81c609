"""Commands the subscription service decides on.

Commands are imperative, carry their own ids and clock (`now`), and reject unknown fields. The
HTTP API builds them from request bodies; the importer sends them in batches over NATS.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from contracts.base import Command
from contracts.billing import BillingCommand
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


class ReactivateEntry(Command):
    """Let a deactivated directory entry be referenced again."""

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


class ReopenSubscription(Command):
    """Bring a Cancelled or Completed subscription back to Inactive, with a reason."""

    subscription_id: UUID
    reason: str
    now: datetime


class AssignEngineer(Command):
    subscription_id: UUID
    engineer_id: UUID
    now: datetime


DirectoryCommand = RegisterEntry | EditEntry | DeactivateEntry | ReactivateEntry
LifecycleCommand = (
    CreateSubscription | EditSubscription | ChangeStatus | ReopenSubscription | AssignEngineer
)


# --- The inner page: services, hotspots, devices, billing, payments, touchpoints -------------
# Item fields travel as plain JSON values; the decider validates and normalises them (addresses,
# MACs, money), so every entry point (HTTP, import) gets the same rules and messages.


class AddService(Command):
    subscription_id: UUID
    service_id: UUID
    fields: dict[str, Any]
    now: datetime


class UpdateService(Command):
    """Change some fields of a service (status included)."""

    subscription_id: UUID
    service_id: UUID
    changes: dict[str, Any]
    now: datetime


class RemoveService(Command):
    subscription_id: UUID
    service_id: UUID
    now: datetime


class AddHotspot(Command):
    subscription_id: UUID
    hotspot_id: UUID
    fields: dict[str, Any]
    now: datetime


class UpdateHotspot(Command):
    subscription_id: UUID
    hotspot_id: UUID
    changes: dict[str, Any]
    now: datetime


class RemoveHotspot(Command):
    subscription_id: UUID
    hotspot_id: UUID
    now: datetime


class LinkDevice(Command):
    subscription_id: UUID
    device_id: UUID
    fields: dict[str, Any]
    now: datetime


class UpdateDevice(Command):
    subscription_id: UUID
    device_id: UUID
    changes: dict[str, Any]
    now: datetime


class UnlinkDevice(Command):
    subscription_id: UUID
    device_id: UUID
    now: datetime


class SetBilling(Command):
    subscription_id: UUID
    fields: dict[str, Any]
    now: datetime


class RecordPayment(Command):
    subscription_id: UUID
    payment_id: UUID
    fields: dict[str, Any]
    now: datetime


class RefundPayment(Command):
    subscription_id: UUID
    payment_id: UUID
    refund_id: UUID
    amount: str | int | float
    reason: str | None = None
    now: datetime


class LogTouchpoint(Command):
    subscription_id: UUID
    touchpoint_id: UUID
    kind: str
    note: str
    occurred_at: datetime | None = None
    now: datetime


class ChangeServicePlan(Command):
    """Move a service to another catalogue plan (an upgrade or a downgrade): `now`, prorated;
    at the start of the next billing period (`next_cycle`); or at a moment to come (ISO 8601
    with its offset, checked by the decider)."""

    subscription_id: UUID
    service_id: UUID
    plan_id: UUID
    effective: str = "now"
    now: datetime


class CancelPlanChange(Command):
    """Drop the plan change pending for a service."""

    subscription_id: UUID
    service_id: UUID
    now: datetime


class ApplyPlanChange(Command):
    """Carry out the plan change pending for a service if it is due at `now` (the scheduler's
    command; nothing when none is pending or it is not due yet)."""

    subscription_id: UUID
    service_id: UUID
    now: datetime


ItemCommand = (
    AddService
    | UpdateService
    | RemoveService
    | AddHotspot
    | UpdateHotspot
    | RemoveHotspot
    | LinkDevice
    | UpdateDevice
    | UnlinkDevice
)
AccountCommand = SetBilling | RecordPayment | RefundPayment | LogTouchpoint

PlanChangeCommand = ChangeServicePlan | CancelPlanChange | ApplyPlanChange

SubscriptionCommand = (
    LifecycleCommand | ItemCommand | PlanChangeCommand | AccountCommand | BillingCommand
)


# --- The plan catalogue --------------------------------------------------------------------
# Like items, plan fields travel as plain JSON values and the decider checks them.


class CreatePlan(Command):
    plan_id: UUID
    fields: dict[str, Any]
    now: datetime


class EditPlan(Command):
    """Change some fields of a plan (only the fields given)."""

    plan_id: UUID
    changes: dict[str, Any]
    now: datetime


class RetirePlan(Command):
    """Offer the plan to no new service; the services on it keep it."""

    plan_id: UUID
    reason: str | None = None
    now: datetime


PlanCommand = CreatePlan | EditPlan | RetirePlan
