"""Subscription decider: creation, references, edits, status lifecycle, reopening, engineer
assignment."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from hypothesis import given as for_all
from hypothesis import settings
from hypothesis import strategies as st

from contracts import inner as inner_ev
from contracts import subscription as ev
from contracts.base import FieldChange
from contracts.commands import (
    AssignEngineer,
    ChangeStatus,
    CreateSubscription,
    EditSubscription,
    ReopenSubscription,
    SubscriptionCommand,
)
from contracts.subscription import Status
from services.subscription.domain import subscription
from services.subscription.domain.claims import Claim
from services.subscription.domain.errors import (
    AlreadyExists,
    Closed,
    Invalid,
    InvalidReference,
    NotClosed,
    NotFound,
)
from services.subscription.domain.subscription import Directory, Reference, referenced_ids

from .scenario import Decider

NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
SUB = uuid4()
CONTACT, ORGANIZATION, ENGINEER, CONTRACT = uuid4(), uuid4(), uuid4(), uuid4()
OTHER_CONTACT, OTHER_ENGINEER = uuid4(), uuid4()
OPEN = (Status.ACTIVE, Status.INACTIVE, Status.SUSPENDED)
CLOSED = (Status.CANCELLED, Status.COMPLETED)

DIRECTORY: Directory = {
    CONTACT: Reference("contact", active=True),
    OTHER_CONTACT: Reference("contact", active=True),
    ORGANIZATION: Reference("organization", active=True),
    ENGINEER: Reference("engineer", active=True),
    OTHER_ENGINEER: Reference("engineer", active=True),
    CONTRACT: Reference("service_contract", active=True),
}
given = Decider.of(subscription).given

CREATED = ev.SubscriptionCreated(
    unique_id="SUB-000042",
    name="Main office link",
    contact_id=CONTACT,
    organization_id=ORGANIZATION,
    engineer_id=ENGINEER,
    service_contract_id=CONTRACT,
    status=Status.ACTIVE,
    description="Rooftop CPE",
)


def create(**overrides: object) -> CreateSubscription:
    fields: dict[str, object] = {
        "subscription_id": SUB,
        "unique_id": "SUB-000042",
        "name": "Main office link",
        "contact_id": CONTACT,
        "organization_id": ORGANIZATION,
        "engineer_id": ENGINEER,
        "service_contract_id": CONTRACT,
        "status": Status.ACTIVE,
        "description": "Rooftop CPE",
        "now": NOW,
    }
    return CreateSubscription.model_validate(fields | overrides)


def edit(**changes: str | UUID | None) -> EditSubscription:
    values = {name: None if v is None else str(v) for name, v in changes.items()}
    return EditSubscription.model_validate({"subscription_id": SUB, "changes": values, "now": NOW})


def status(to: Status, reason: str | None = None) -> ChangeStatus:
    return ChangeStatus(subscription_id=SUB, status=to, reason=reason, now=NOW)


def reopen(reason: str = "cancelled by mistake") -> ReopenSubscription:
    return ReopenSubscription(subscription_id=SUB, reason=reason, now=NOW)


def assign(engineer_id: UUID) -> AssignEngineer:
    return AssignEngineer(subscription_id=SUB, engineer_id=engineer_id, now=NOW)


def without(entry_id: UUID) -> Directory:
    return {k: v for k, v in DIRECTORY.items() if k != entry_id}


def deactivated(entry_id: UUID) -> Directory:
    return {**DIRECTORY, entry_id: Reference(DIRECTORY[entry_id].kind, active=False)}


def closed(as_status: Status = Status.CANCELLED) -> ev.SubscriptionStatusChanged:
    return ev.SubscriptionStatusChanged(from_status=Status.ACTIVE, to_status=as_status)


# Create


def test_create_with_every_reference() -> None:
    state = given().when(create(), directory=DIRECTORY).then(CREATED)
    assert state.status is Status.ACTIVE
    assert state.contact_id == CONTACT


def test_create_with_only_the_required_references() -> None:
    command = create(organization_id=None, service_contract_id=None, description=None)
    directory = {CONTACT: DIRECTORY[CONTACT], ENGINEER: DIRECTORY[ENGINEER]}
    given().when(command, directory=directory).then(
        CREATED.model_copy(
            update={"organization_id": None, "service_contract_id": None, "description": None}
        )
    )


def test_create_strips_name_and_blank_description_becomes_none() -> None:
    given().when(create(name="  Main office link ", description="   "), directory=DIRECTORY).then(
        CREATED.model_copy(update={"description": None})
    )


@pytest.mark.parametrize("name", ["", "   "])
def test_create_requires_a_name(name: str) -> None:
    given().when(create(name=name), directory=DIRECTORY).then_raises(Invalid, pointer="/name")


@pytest.mark.parametrize(
    ("field", "entry_id"),
    [
        ("contact_id", CONTACT),
        ("organization_id", ORGANIZATION),
        ("engineer_id", ENGINEER),
        ("service_contract_id", CONTRACT),
    ],
)
def test_create_refuses_an_unknown_reference(field: str, entry_id: UUID) -> None:
    given().when(create(), directory=without(entry_id)).then_raises(
        InvalidReference, pointer=f"/{field}", match="unknown"
    )


@pytest.mark.parametrize(
    ("field", "entry_id"),
    [
        ("contact_id", CONTACT),
        ("organization_id", ORGANIZATION),
        ("engineer_id", ENGINEER),
        ("service_contract_id", CONTRACT),
    ],
)
def test_create_refuses_a_deactivated_reference(field: str, entry_id: UUID) -> None:
    given().when(create(), directory=deactivated(entry_id)).then_raises(
        InvalidReference, pointer=f"/{field}", match="deactivated"
    )


def test_create_refuses_a_reference_of_the_wrong_kind() -> None:
    # An engineer's id given as the contact.
    given().when(create(contact_id=ENGINEER), directory=DIRECTORY).then_raises(
        InvalidReference, pointer="/contact_id"
    )


def test_create_twice_is_refused() -> None:
    given(CREATED).when(create(), directory=DIRECTORY).then_raises(AlreadyExists)


# Edit


def test_edit_name_and_description() -> None:
    state = (
        given(CREATED)
        .when(edit(name=" Branch office ", description=None), directory={})
        .then(
            ev.SubscriptionEdited(
                changes={
                    "name": FieldChange(old="Main office link", new="Branch office"),
                    "description": FieldChange(old="Rooftop CPE", new=None),
                }
            )
        )
    )
    assert (state.name, state.description) == ("Branch office", None)


def test_edit_that_changes_nothing_returns_no_events() -> None:
    given(CREATED).when(
        edit(name="Main office link ", contact_id=CONTACT, organization_id=ORGANIZATION),
        directory={},
    ).then()


def test_edit_may_not_empty_the_name() -> None:
    given(CREATED).when(edit(name=" "), directory={}).then_raises(Invalid, pointer="/name")


def test_edit_may_not_remove_the_contact() -> None:
    given(CREATED).when(edit(contact_id=None), directory={}).then_raises(
        Invalid, pointer="/contact_id"
    )


def test_edit_changes_the_contact_to_another_active_one() -> None:
    state = (
        given(CREATED)
        .when(edit(contact_id=OTHER_CONTACT), directory=DIRECTORY)
        .then(
            ev.SubscriptionEdited(
                changes={"contact_id": FieldChange(old=str(CONTACT), new=str(OTHER_CONTACT))}
            )
        )
    )
    assert state.contact_id == OTHER_CONTACT


@pytest.mark.parametrize("directory", [without(OTHER_CONTACT), deactivated(OTHER_CONTACT)])
def test_edit_refuses_an_unknown_or_deactivated_new_contact(directory: Directory) -> None:
    given(CREATED).when(edit(contact_id=OTHER_CONTACT), directory=directory).then_raises(
        InvalidReference, pointer="/contact_id"
    )


def test_edit_refuses_a_new_reference_of_the_wrong_kind() -> None:
    given(CREATED).when(edit(organization_id=CONTACT), directory=DIRECTORY).then_raises(
        InvalidReference, pointer="/organization_id"
    )


def test_edit_refuses_a_malformed_reference() -> None:
    command = edit(service_contract_id="not-a-uuid")
    assert referenced_ids(command) == set()
    given(CREATED).when(command, directory=DIRECTORY).then_raises(
        InvalidReference, pointer="/service_contract_id"
    )


def test_edit_may_drop_the_optional_references_without_a_lookup() -> None:
    state = (
        given(CREATED)
        .when(edit(organization_id=None, service_contract_id=None), directory={})
        .then(
            ev.SubscriptionEdited(
                changes={
                    "organization_id": FieldChange(old=str(ORGANIZATION), new=None),
                    "service_contract_id": FieldChange(old=str(CONTRACT), new=None),
                }
            )
        )
    )
    assert (state.organization_id, state.service_contract_id) == (None, None)


def test_edit_with_the_same_reference_needs_no_lookup() -> None:
    # The directory shown holds nothing: a lookup would fail.
    given(CREATED).when(edit(contact_id=CONTACT, service_contract_id=CONTRACT), directory={}).then()


def test_edit_keeps_an_existing_deactivated_reference_while_changing_other_fields() -> None:
    directory = deactivated(CONTACT) | deactivated(ORGANIZATION)
    given(CREATED).when(
        edit(name="Branch office", contact_id=CONTACT, organization_id=ORGANIZATION),
        directory=directory,
    ).then(
        ev.SubscriptionEdited(
            changes={"name": FieldChange(old="Main office link", new="Branch office")}
        )
    )


def test_edit_of_a_missing_subscription_is_not_found() -> None:
    given().when(edit(name="Branch office"), directory={}).then_raises(NotFound)


@pytest.mark.parametrize("closed_as", CLOSED)
def test_edit_of_a_closed_subscription_is_refused(closed_as: Status) -> None:
    given(CREATED, closed(closed_as)).when(edit(name="Branch office"), directory={}).then_raises(
        Closed
    )


# Status


@pytest.mark.parametrize(
    ("from_status", "to_status"),
    [(a, b) for a in OPEN for b in (*OPEN, *CLOSED) if a != b],
)
def test_an_open_status_moves_to_any_other(from_status: Status, to_status: Status) -> None:
    created = CREATED.model_copy(update={"status": from_status})
    state = (
        given(created)
        .when(status(to_status, reason="customer asked"), directory={})
        .then(
            ev.SubscriptionStatusChanged(
                from_status=from_status, to_status=to_status, reason="customer asked"
            )
        )
    )
    assert state.status is to_status


def test_changing_to_the_current_status_returns_no_events() -> None:
    given(CREATED).when(status(Status.ACTIVE), directory={}).then()


@pytest.mark.parametrize(
    ("closed_as", "to_status"), [(a, b) for a in CLOSED for b in (*OPEN, *CLOSED) if a != b]
)
def test_a_closed_subscription_refuses_status_changes(closed_as: Status, to_status: Status) -> None:
    given(CREATED, closed(closed_as)).when(status(to_status), directory={}).then_raises(Closed)


def test_a_subscription_created_closed_refuses_status_changes() -> None:
    created = CREATED.model_copy(update={"status": Status.COMPLETED})
    given(created).when(status(Status.ACTIVE), directory={}).then_raises(Closed)


def test_status_of_a_missing_subscription_is_not_found() -> None:
    given().when(status(Status.ACTIVE), directory={}).then_raises(NotFound)


# Reopen


@pytest.mark.parametrize("closed_as", CLOSED)
def test_reopen_a_closed_subscription_to_inactive(closed_as: Status) -> None:
    state = (
        given(CREATED, closed(closed_as))
        .when(reopen("  cancelled by mistake  "), directory={})
        .then(
            ev.SubscriptionReopened(
                from_status=closed_as, to_status=Status.INACTIVE, reason="cancelled by mistake"
            )
        )
    )
    assert state.status is Status.INACTIVE


def test_reopen_a_subscription_created_closed() -> None:
    created = CREATED.model_copy(update={"status": Status.COMPLETED})
    given(created).when(reopen(), directory={}).then(
        ev.SubscriptionReopened(
            from_status=Status.COMPLETED, to_status=Status.INACTIVE, reason="cancelled by mistake"
        )
    )


@pytest.mark.parametrize("status_now", OPEN)
def test_reopen_of_an_open_subscription_is_refused(status_now: Status) -> None:
    created = CREATED.model_copy(update={"status": status_now})
    given(created).when(reopen(), directory={}).then_raises(NotClosed)


def test_reopen_twice_is_refused() -> None:
    reopened = ev.SubscriptionReopened(
        from_status=Status.CANCELLED, to_status=Status.INACTIVE, reason="mistake"
    )
    given(CREATED, closed(), reopened).when(reopen(), directory={}).then_raises(NotClosed)


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501, "two\x00bytes"])
def test_reopen_requires_a_valid_reason(reason: str) -> None:
    given(CREATED, closed()).when(reopen(reason), directory={}).then_raises(
        Invalid, pointer="/reason"
    )


def test_reopen_of_a_missing_subscription_is_not_found() -> None:
    given().when(reopen(), directory={}).then_raises(NotFound)


def test_a_reopened_subscription_takes_changes_again() -> None:
    reopened = ev.SubscriptionReopened(
        from_status=Status.CANCELLED, to_status=Status.INACTIVE, reason="mistake"
    )
    given(CREATED, closed(), reopened).when(status(Status.ACTIVE), directory={}).then(
        ev.SubscriptionStatusChanged(from_status=Status.INACTIVE, to_status=Status.ACTIVE)
    )


def test_reopening_holds_the_services_addresses_and_logins_again() -> None:
    service = inner_ev.ServiceAdded(
        service_id=uuid4(),
        plan="Home 50",
        download_max_mbps=50,
        upload_max_mbps=10,
        ipv4=["192.0.2.8/29"],
        ipv6=["2001:db8:8::/48"],
        pppoe_username="ada",
    )
    hotspot = inner_ev.HotspotAdded(hotspot_id=uuid4(), login="Voucher-1")
    decider = Decider.of(subscription)
    history = (CREATED, service, hotspot, closed())
    assert subscription.held(decider.fold(history)) == {Claim("unique_id", "SUB-000042")}
    events = subscription.decide(reopen(), decider.fold(history), {})
    assert subscription.held(decider.fold((*history, *events))) == {
        Claim("unique_id", "SUB-000042"),
        Claim("ipv4", "192.0.2.8/29"),
        Claim("ipv6", "2001:db8:8::/48"),
        Claim("pppoe", "ada"),
        Claim("hotspot_login", "voucher-1"),
    }


# Engineer


def test_assign_another_engineer() -> None:
    state = (
        given(CREATED)
        .when(assign(OTHER_ENGINEER), directory=DIRECTORY)
        .then(
            ev.SubscriptionEngineerAssigned(
                from_engineer_id=ENGINEER, to_engineer_id=OTHER_ENGINEER
            )
        )
    )
    assert state.engineer_id == OTHER_ENGINEER


def test_assign_the_same_engineer_returns_no_events_without_a_lookup() -> None:
    given(CREATED).when(assign(ENGINEER), directory={}).then()


@pytest.mark.parametrize(
    "directory", [without(OTHER_ENGINEER), deactivated(OTHER_ENGINEER)], ids=["unknown", "off"]
)
def test_assign_refuses_an_unknown_or_deactivated_engineer(directory: Directory) -> None:
    given(CREATED).when(assign(OTHER_ENGINEER), directory=directory).then_raises(
        InvalidReference, pointer="/engineer_id"
    )


def test_assign_refuses_an_id_of_another_kind() -> None:
    given(CREATED).when(assign(CONTACT), directory=DIRECTORY).then_raises(
        InvalidReference, pointer="/engineer_id"
    )


def test_assign_on_a_closed_subscription_is_refused() -> None:
    given(CREATED, closed()).when(assign(OTHER_ENGINEER), directory=DIRECTORY).then_raises(Closed)


# Which directory entries a command needs


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (create(), {CONTACT, ORGANIZATION, ENGINEER, CONTRACT}),
        (create(organization_id=None, service_contract_id=None), {CONTACT, ENGINEER}),
        (edit(name="x", contact_id=OTHER_CONTACT, organization_id=None), {OTHER_CONTACT}),
        (assign(OTHER_ENGINEER), {OTHER_ENGINEER}),
        (status(Status.SUSPENDED), set()),
        (reopen(), set()),
    ],
    ids=["create", "create-minimal", "edit", "assign", "status", "reopen"],
)
def test_referenced_ids(command: SubscriptionCommand, expected: set[UUID]) -> None:
    assert referenced_ids(command) == expected


# Property: the fold follows the last status event


# No example database: a test run leaves no files behind.
@settings(database=None)
@for_all(st.lists(st.sampled_from(list(Status)), max_size=12))
def test_any_valid_status_sequence_folds_to_the_last_event(targets: list[Status]) -> None:
    decider = Decider.of(subscription)
    events: list[ev.SubscriptionEvent] = [CREATED]
    for target in targets:
        state = decider.fold(tuple(events))
        if state.status.is_closed:
            break
        decided = subscription.decide(status(target), state, {})
        assert decided == (
            []
            if target is state.status
            else [ev.SubscriptionStatusChanged(from_status=state.status, to_status=target)]
        )
        events.extend(decided)
    changes = [e for e in events if isinstance(e, ev.SubscriptionStatusChanged)]
    final = decider.fold(tuple(events))
    assert final.status is (changes[-1].to_status if changes else CREATED.status)
    # Each change starts where the previous one ended: the fold and the events agree.
    starts = [CREATED.status, *(c.to_status for c in changes)]
    assert [c.from_status for c in changes] == starts[:-1]
    assert all(c.from_status is not c.to_status for c in changes)
