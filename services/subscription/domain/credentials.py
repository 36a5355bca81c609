"""Decider of RADIUS passwords: a password may be set on a service or hotspot account of an
open subscription. What is decided is only that one was set; the password never reaches here."""

from __future__ import annotations

from contracts.base import Event
from contracts.radius import HotspotPasswordSet, ServicePasswordSet, SetPassword
from services.subscription.domain.errors import Closed, NotFound
from services.subscription.domain.inner import present
from services.subscription.domain.subscription import State, Subscription


def decide(command: SetPassword, state: State) -> list[Event]:
    """One event recording the password set, or a domain error (unknown item, closed)."""
    if not isinstance(state, Subscription):
        raise NotFound(f"subscription {command.subscription_id} not found")
    if state.status.is_closed:
        raise Closed(
            f"subscription {state.unique_id} is {state.status.value} and cannot be changed"
        )
    current = state
    if command.kind == "service":
        present(current.items.services, command.item_id, "service")
        return [ServicePasswordSet(service_id=command.item_id)]
    present(current.items.hotspots, command.item_id, "hotspot account")
    return [HotspotPasswordSet(hotspot_id=command.item_id)]
