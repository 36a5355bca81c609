"""Every decider refuses what no read model could hold, in the same words: control characters,
moments that overflow a time-zone conversion, addresses with a zone."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import pytest

from contracts.commands import (
    AddHotspot,
    ChangeStatus,
    DeactivateEntry,
    LinkDevice,
    LogTouchpoint,
    RecordPayment,
    RefundPayment,
    RegisterEntry,
)
from contracts.directory import ContactRegistered
from contracts.inner import PaymentRefunded
from contracts.subscription import Status
from services.subscription.domain import directory, subscription
from services.subscription.domain.errors import AlreadyExists, Invalid

from .scenario import Decider
from .test_subscription_decider import CREATED, NOW, SUB, create
from .test_subscription_decider import DIRECTORY as REFS

given = Decider.of(subscription).given
given_entry = Decider.of(directory).given

FAR_PAST = "0001-01-01T00:00:00+14:00"  # .NET's DateTime.MinValue with a far offset
FAR_FUTURE = "9999-12-31T23:59:59-14:00"


@pytest.mark.parametrize("bad", ["a\x00b", "a\x1bb", "line\nbreak", "\ud800"])
def test_a_name_with_a_control_character_is_refused(bad: str) -> None:
    given().when(create(name=bad), directory=REFS).then_raises(
        Invalid, pointer="/name", match="control character"
    )


def test_a_description_may_span_lines_but_holds_no_nul() -> None:
    given().when(create(description="one\ntwo"), directory=REFS).then(
        CREATED.model_copy(update={"description": "one\ntwo"})
    )
    given().when(create(description="a\x00"), directory=REFS).then_raises(
        Invalid, pointer="/description", match="U\\+0000"
    )


@pytest.mark.parametrize("moment", [FAR_PAST, FAR_FUTURE, "1899-12-31T23:00:00Z"])
def test_a_payment_outside_the_years_every_offset_can_hold_is_refused(moment: str) -> None:
    fields = {"amount": "10.00", "currency": "USD", "method": "cash", "paid_at": moment}
    command = RecordPayment(subscription_id=SUB, payment_id=uuid4(), fields=fields, now=NOW)
    given(CREATED).when(command, directory=REFS).then_raises(
        Invalid, pointer="/paid_at", match="between"
    )


@pytest.mark.parametrize("moment", [FAR_FUTURE, "9000-01-01T00:00:00Z"])
def test_a_hotspot_expiring_past_the_range_is_refused(moment: str) -> None:
    fields = {"login": "guest1", "status": "active", "expires_at": moment}
    command = AddHotspot(subscription_id=SUB, hotspot_id=uuid4(), fields=fields, now=NOW)
    given(CREATED).when(command, directory=REFS).then_raises(
        Invalid, pointer="/expires_at", match="between"
    )


def test_a_touchpoint_in_year_one_is_refused() -> None:
    command = LogTouchpoint(
        subscription_id=SUB,
        touchpoint_id=uuid4(),
        kind="call",
        note="x",
        occurred_at=datetime(1, 1, 2, tzinfo=UTC),
        now=NOW,
    )
    given(CREATED).when(command, directory=REFS).then_raises(
        Invalid, pointer="/occurred_at", match="between"
    )


def test_a_device_address_with_a_zone_is_refused() -> None:
    fields = {"name": "CPE", "type": "cpe", "ip": "fe80::1%eth0"}
    command = LinkDevice(subscription_id=SUB, device_id=uuid4(), fields=fields, now=NOW)
    given(CREATED).when(command, directory=REFS).then_raises(Invalid, pointer="/ip", match="zone")


# Found by tests/integration/test_every_event_projects.py: a name past a btree index row (2704
# bytes) was accepted and then dead-lettered by the `subscriptions` projection.
LONG_NAME = "".join(chr(0x4E00 + (i * 7919) % 0x5000) for i in range(1000))


def test_a_subscription_name_past_its_bound_is_refused() -> None:
    given().when(create(name="n" * 201), directory=REFS).then_raises(
        Invalid, pointer="/name", match="at most 200"
    )
    given().when(create(name=LONG_NAME), directory=REFS).then_raises(Invalid, pointer="/name")


def test_a_unique_id_is_text_of_a_bounded_length() -> None:
    given().when(create(unique_id="S" * 65), directory=REFS).then_raises(
        Invalid, pointer="/unique_id", match="at most 64"
    )
    given().when(create(unique_id="SUB-\x00"), directory=REFS).then_raises(
        Invalid, pointer="/unique_id", match="U\\+0000"
    )


def test_a_status_reason_holds_no_lone_surrogate() -> None:
    command = ChangeStatus(
        subscription_id=SUB, status=Status.SUSPENDED, reason="late \ud800", now=NOW
    )
    given(CREATED).when(command, directory=REFS).then_raises(Invalid, pointer="/reason")


@pytest.mark.parametrize(("field", "length"), [("name", 201), ("address", 501)])
def test_a_directory_text_past_its_bound_is_refused(field: str, length: int) -> None:
    fields = {"name": "Jane", field: "x" * length}
    command = RegisterEntry(kind="contact", entry_id=uuid4(), fields=fields, now=NOW)
    given_entry().when(command).then_raises(Invalid, pointer=f"/{field}", match="at most")


def test_a_deactivation_reason_holds_no_nul() -> None:
    registered = ContactRegistered(name="Jane")
    command = DeactivateEntry(kind="contact", entry_id=uuid4(), reason="gone\x00", now=NOW)
    given_entry(registered).when(command).then_raises(Invalid, pointer="/reason")


def test_a_refund_id_is_taken_once() -> None:
    # Found by the property test: read.refunds' key refused the second refund's row.
    payment_id, refund_id = uuid4(), uuid4()
    fields = {"amount": "10.00", "currency": "USD", "method": "cash", "paid_at": NOW.isoformat()}
    paid = subscription.decide(
        RecordPayment(subscription_id=SUB, payment_id=payment_id, fields=fields, now=NOW),
        subscription.evolve(subscription.initial_state, CREATED),
        REFS,
    )
    refund = RefundPayment(
        subscription_id=SUB, payment_id=payment_id, refund_id=refund_id, amount="1", now=NOW
    )
    refunded = PaymentRefunded(payment_id=payment_id, refund_id=refund_id, amount=Decimal(1))
    given(CREATED, *paid, refunded).when(refund, directory=REFS).then_raises(AlreadyExists)
