"""The password decider: a password may be set on a service or hotspot account of an open
subscription; the event names the item only."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from contracts import inner as iev
from contracts.radius import HotspotPasswordSet, ServicePasswordSet, SetPassword
from contracts.subscription import Status
from services.subscription.domain import credentials, subscription
from services.subscription.domain.errors import Closed, NotFound
from tests.unit.scenario import Decider
from tests.unit.test_subscription_decider import CREATED, SUB, closed

NOW = datetime(2026, 12, 3, 20, 0, tzinfo=UTC)
SERVICE, HOTSPOT = uuid4(), uuid4()
given = Decider(credentials.decide, subscription.evolve, subscription.initial_state).given
SERVICE_ADDED = iev.ServiceAdded(
    service_id=SERVICE, plan="Home", download_max_mbps=50, upload_max_mbps=10,
    pppoe_username="alice",
)  # fmt: skip
HOTSPOT_ADDED = iev.HotspotAdded(hotspot_id=HOTSPOT, login="guest-1")


def set_password(kind: str, item_id: object) -> SetPassword:
    return SetPassword.model_validate(
        {"subscription_id": SUB, "kind": kind, "item_id": item_id, "now": NOW}
    )


def test_a_service_password_set_is_recorded_without_the_password() -> None:
    given(CREATED, SERVICE_ADDED).when(set_password("service", SERVICE)).then(
        ServicePasswordSet(service_id=SERVICE)
    )


def test_a_hotspot_password_set_is_recorded() -> None:
    given(CREATED, HOTSPOT_ADDED).when(set_password("hotspot", HOTSPOT)).then(
        HotspotPasswordSet(hotspot_id=HOTSPOT)
    )


def test_an_unknown_item_is_not_found() -> None:
    given(CREATED, SERVICE_ADDED).when(set_password("hotspot", SERVICE)).then_raises(NotFound)
    given(CREATED).when(set_password("service", uuid4())).then_raises(NotFound)


def test_an_unknown_subscription_is_not_found() -> None:
    given().when(set_password("service", SERVICE)).then_raises(NotFound)


def test_a_closed_subscription_refuses_a_password() -> None:
    for status in (Status.CANCELLED, Status.COMPLETED):
        given(CREATED, SERVICE_ADDED, closed(status)).when(
            set_password("service", SERVICE)
        ).then_raises(Closed)
