"""Events of the subscription stream."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal
from uuid import UUID

from contracts.base import Event, FieldChange


class Status(StrEnum):
    """Lifecycle status of a subscription."""

    ACTIVE = "Active"
    INACTIVE = "Inactive"
    SUSPENDED = "Suspended"
    CANCELLED = "Cancelled"
    COMPLETED = "Completed"

    @property
    def is_closed(self) -> bool:
        """Closed subscriptions refuse status changes, edits and changes to their items."""
        return self in (Status.CANCELLED, Status.COMPLETED)


NotificationLevel = Literal["Now"]


class SubscriptionCreated(Event):
    type: Literal["subscription.created"] = "subscription.created"
    unique_id: str
    name: str
    contact_id: UUID
    organization_id: UUID | None = None
    engineer_id: UUID
    service_contract_id: UUID | None = None
    status: Status
    notification_level: NotificationLevel = "Now"
    description: str | None = None


class SubscriptionEdited(Event):
    """Name, description, contact, organization or service contract changed."""

    type: Literal["subscription.edited"] = "subscription.edited"
    changes: dict[str, FieldChange]


class SubscriptionStatusChanged(Event):
    """A status change; one that happened on its own names its `cause`: `overdue` (an invoice
    unpaid past the grace days), `paid` (the balance of an overdue subscription cleared) or
    `scheduled` (the scheduled change `schedule_id` fell due)."""

    type: Literal["subscription.status_changed"] = "subscription.status_changed"
    from_status: Status
    to_status: Status
    reason: str | None = None
    cause: Literal["overdue", "paid", "scheduled"] | None = None
    schedule_id: UUID | None = None


class SubscriptionReopened(Event):
    """A Cancelled or Completed subscription brought back to Inactive by an admin."""

    type: Literal["subscription.reopened"] = "subscription.reopened"
    from_status: Status
    to_status: Status = Status.INACTIVE
    reason: str


class SubscriptionEngineerAssigned(Event):
    type: Literal["subscription.engineer_assigned"] = "subscription.engineer_assigned"
    from_engineer_id: UUID
    to_engineer_id: UUID


SubscriptionEvent = (
    SubscriptionCreated
    | SubscriptionEdited
    | SubscriptionStatusChanged
    | SubscriptionReopened
    | SubscriptionEngineerAssigned
)
