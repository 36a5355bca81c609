"""RADIUS credentials: a PPPoE or hotspot password was set. The password itself is never in a
command or an event: it lives outside the event store, in the form FreeRADIUS checks."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from contracts.base import Command, Event

CredentialKind = Literal["service", "hotspot"]


class SetPassword(Command):
    """Record that the login of a service (PPPoE) or a hotspot account gets a new password."""

    subscription_id: UUID
    kind: CredentialKind
    item_id: UUID
    now: datetime


class ServicePasswordSet(Event):
    """A service's PPPoE password was set (who set it: the envelope's actor)."""

    type: Literal["subscription.service_password_set"] = "subscription.service_password_set"
    service_id: UUID


class HotspotPasswordSet(Event):
    """A hotspot account's password was set (who set it: the envelope's actor)."""

    type: Literal["subscription.hotspot_password_set"] = "subscription.hotspot_password_set"
    hotspot_id: UUID


RadiusEvent = ServicePasswordSet | HotspotPasswordSet
