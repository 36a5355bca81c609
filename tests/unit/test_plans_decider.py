"""Plan catalogue decider, services on plans, and the plan change with its proration."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import uuid4

import pytest

from contracts import inner as inner_ev
from contracts import plans as ev
from contracts import subscription as sev
from contracts.commands import (
    AddService,
    ApplyPlanChange,
    CancelPlanChange,
    ChangeServicePlan,
    CreatePlan,
    EditPlan,
    RetirePlan,
    UpdateService,
)
from contracts.subscription import Status
from services.subscription.domain import plans, subscription
from services.subscription.domain.errors import (
    AlreadyExists,
    Closed,
    Invalid,
    InvalidReference,
    NotFound,
    PlanRetired,
)
from services.subscription.domain.plans import Plan
from services.subscription.domain.proration import period

from .scenario import Decider

NOW = datetime(2027, 1, 10, 15, 0, tzinfo=UTC)
PLAN, SUB, SERVICE = uuid4(), uuid4(), uuid4()
BASIC, FAST, OLD = uuid4(), uuid4(), uuid4()
plan_given = Decider.of(plans).given
sub_given = Decider.of(subscription).given

HOME_30 = {
    "name": "Home 30",
    "download_max_mbps": 30,
    "upload_max_mbps": 10,
    "download_min_mbps": 10,
    "qos_mode": "cake",
    "price": "30.00",
    "currency": "USD",
    "cycle": "monthly",
}
CREATED = ev.PlanCreated(
    name="Home 30",
    download_max_mbps=30,
    upload_max_mbps=10,
    download_min_mbps=10,
    qos_mode="cake",
    price=Decimal("30.00"),
    currency="USD",
    cycle="monthly",
)


def plan(**changes: object) -> Plan:
    return Plan(CREATED.model_copy(update=changes))


PLANS = {
    BASIC: plan(),
    FAST: plan(
        name="Home 50", download_max_mbps=50, upload_max_mbps=20, qos_mode="fq_codel",
        price=Decimal("50.00"),
    ),
    OLD: Plan(CREATED.model_copy(update={"name": "Legacy 10"}), retired=True),
}  # fmt: skip
SUBSCRIPTION = sev.SubscriptionCreated(
    unique_id="SUB-000007",
    name="Farmhouse",
    contact_id=uuid4(),
    engineer_id=uuid4(),
    status=Status.ACTIVE,
)


# --- the catalogue ---------------------------------------------------------------------------


def test_a_plan_is_created_with_its_price_as_a_decimal() -> None:
    plan_given().when(CreatePlan(plan_id=PLAN, fields=HOME_30, now=NOW)).then(CREATED)


def test_a_plan_is_created_once() -> None:
    command = CreatePlan(plan_id=PLAN, fields=HOME_30, now=NOW)
    plan_given(CREATED).when(command).then_raises(AlreadyExists)


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"name": ""}, "/name"),
        ({"price": 30.0}, "/price"),
        ({"price": "-1"}, "/price"),
        ({"price": "1.23456"}, "/price"),
        ({"price": None}, "/price"),
        ({"currency": "dollars"}, "/currency"),
        ({"cycle": "weekly"}, "/cycle"),
        ({"download_max_mbps": 0}, "/download_max_mbps"),
        ({"download_min_mbps": 31}, "/download_min_mbps"),
        ({"colour": "red"}, "/colour"),
    ],
)
def test_a_bad_plan_is_refused_naming_the_field(fields: dict[str, object], pointer: str) -> None:
    command = CreatePlan(plan_id=PLAN, fields={**HOME_30, **fields}, now=NOW)
    plan_given().when(command).then_raises(Invalid, pointer=pointer)


def test_an_edit_names_what_changed_and_a_same_edit_changes_nothing() -> None:
    edit = EditPlan(plan_id=PLAN, changes={"download_max_mbps": 40, "price": "35"}, now=NOW)
    plan_given(CREATED).when(edit).then(
        ev.PlanEdited(
            changed=["download_max_mbps", "price"],
            **{**CREATED.model_dump(exclude={"type"}), "download_max_mbps": 40, "price": 35},
        )
    )
    plan_given(CREATED).when(EditPlan(plan_id=PLAN, changes={"price": "30"}, now=NOW)).then()


def test_retiring_twice_retires_once_and_an_unknown_plan_is_not_found() -> None:
    retired = plan_given(CREATED).when(RetirePlan(plan_id=PLAN, reason="old", now=NOW))
    state = retired.then(ev.PlanRetired(reason="old"))
    assert state.retired
    plan_given(CREATED, ev.PlanRetired()).when(RetirePlan(plan_id=PLAN, now=NOW)).then()
    plan_given().when(RetirePlan(plan_id=PLAN, now=NOW)).then_raises(NotFound)


# --- services on plans -----------------------------------------------------------------------


def add(**fields: object) -> AddService:
    return AddService(subscription_id=SUB, service_id=SERVICE, fields=fields, now=NOW)


def update(**changes: object) -> UpdateService:
    return UpdateService(subscription_id=SUB, service_id=SERVICE, changes=changes, now=NOW)


def on_basic(**overrides: object) -> inner_ev.ServiceAdded:
    values: dict[str, object] = {
        "plan": "Home 30", "download_max_mbps": 30, "upload_max_mbps": 10,
        "download_min_mbps": 10, "qos_mode": "cake", "plan_id": BASIC, **overrides,
    }  # fmt: skip
    return inner_ev.ServiceAdded(service_id=SERVICE, **values)


def test_a_service_on_a_plan_takes_its_rates_and_name() -> None:
    command = add(plan_id=str(BASIC), plan="typed by hand")
    sub_given(SUBSCRIPTION).when(command, directory={}, plans=PLANS).then(on_basic())


def test_rates_set_on_the_service_are_its_overrides() -> None:
    command = add(plan_id=str(BASIC), download_max_mbps=100)
    sub_given(SUBSCRIPTION).when(command, directory={}, plans=PLANS).then(
        on_basic(download_max_mbps=100, overrides=["download_max_mbps"])
    )


def test_a_retired_plan_is_offered_to_no_new_service_but_kept_by_those_on_it() -> None:
    command = add(plan_id=str(OLD))
    refused = sub_given(SUBSCRIPTION).when(command, directory={}, plans=PLANS)
    refused.then_raises(PlanRetired, pointer="/plan_id")
    on_old = on_basic(plan="Legacy 10", plan_id=OLD)
    edit = update(mac="aa:bb:cc:00:11:22")
    state = sub_given(SUBSCRIPTION, on_old).when(edit, directory={}, plans=PLANS).then(
        inner_ev.ServiceUpdated(
            service_id=SERVICE, changed=["mac"],
            **{**on_old.model_dump(exclude={"type", "service_id"}), "mac": "aa:bb:cc:00:11:22"},
        )
    )  # fmt: skip
    assert state.items.services[SERVICE].plan_id == OLD
    to_old = update(plan_id=str(OLD))
    sub_given(SUBSCRIPTION, on_basic()).when(to_old, directory={}, plans=PLANS).then_raises(
        PlanRetired, pointer="/plan_id"
    )


def test_an_unknown_or_malformed_plan_is_named() -> None:
    for plan_id in (str(uuid4()), "not-an-id"):
        refused = sub_given(SUBSCRIPTION).when(add(plan_id=plan_id), directory={}, plans=PLANS)
        refused.then_raises(InvalidReference, pointer="/plan_id")


def test_a_custom_plan_service_keeps_working_without_a_catalogue() -> None:
    command = add(plan="Home 50M", download_max_mbps=50, upload_max_mbps=10)
    sub_given(SUBSCRIPTION).when(command, directory={}).then(
        inner_ev.ServiceAdded(
            service_id=SERVICE, plan="Home 50M", download_max_mbps=50, upload_max_mbps=10
        )
    )


def test_an_override_set_back_to_null_follows_the_plan_again() -> None:
    overridden = on_basic(download_max_mbps=100, overrides=["download_max_mbps"])
    edit = update(download_max_mbps=None)
    state = sub_given(SUBSCRIPTION, overridden).when(edit, directory={}, plans=PLANS).then(
        inner_ev.ServiceUpdated(
            service_id=SERVICE, changed=["download_max_mbps", "overrides"],
            **on_basic().model_dump(exclude={"type", "service_id"}),
        )
    )  # fmt: skip
    assert state.items.services[SERVICE].overrides == []


# --- the plan change -------------------------------------------------------------------------


def change(plan_id: object, now: datetime = NOW) -> ChangeServicePlan:
    return ChangeServicePlan(subscription_id=SUB, service_id=SERVICE, plan_id=plan_id, now=now)


def test_an_immediate_upgrade_is_prorated_to_the_cent() -> None:
    # January 2027 has 31 days; from the 10th to the 31st, 22 are left (the 10th counts to the
    # new plan): credit 30.00 x 22/31 = 21.2903 -> 21.29, charge 50.00 x 22/31 = 35.4838 ->
    # 35.48, net 14.19 owed. The README's worked example.
    decided = sub_given(SUBSCRIPTION, on_basic()).when(change(FAST), directory={}, plans=PLANS)
    state = decided.then(
        inner_ev.ServicePlanChanged(
            service_id=SERVICE, from_plan_id=BASIC, from_plan="Home 30", to_plan_id=FAST,
            plan="Home 50", download_max_mbps=50, upload_max_mbps=20, download_min_mbps=10,
            qos_mode="fq_codel", effective_at=NOW,
            proration=inner_ev.Proration(
                currency="USD", cycle="monthly", period_start=date(2027, 1, 1),
                period_end=date(2027, 1, 31), days_in_period=31, days_left=22,
                old_price=Decimal("30.00"), new_price=Decimal("50.00"),
                credit=Decimal("21.29"), charge=Decimal("35.48"), net=Decimal("14.19"),
            ),
        )
    )  # fmt: skip
    moved = state.items.services[SERVICE]
    assert (moved.plan_id, moved.plan, moved.download_max_mbps) == (FAST, "Home 50", 50)


def test_a_downgrade_on_the_last_day_credits_the_customer() -> None:
    on_fast = on_basic(plan="Home 50", plan_id=FAST, download_max_mbps=50, upload_max_mbps=20)
    last_day = datetime(2027, 2, 28, 23, 59, tzinfo=UTC)
    [event] = subscription.decide(
        change(BASIC, last_day), Decider.of(subscription).fold((SUBSCRIPTION, on_fast)), {}, PLANS
    )
    assert isinstance(event, inner_ev.ServicePlanChanged) and event.proration is not None
    # 1 day of 28: credit 50/28 = 1.7857 -> 1.79, charge 30/28 = 1.0714 -> 1.07
    assert (event.proration.credit, event.proration.charge) == (Decimal("1.79"), Decimal("1.07"))
    assert event.proration.net == Decimal("-0.72")


def test_an_override_is_kept_across_a_plan_change() -> None:
    overridden = on_basic(upload_max_mbps=40, overrides=["upload_max_mbps"])
    decided = sub_given(SUBSCRIPTION, overridden).when(change(FAST), directory={}, plans=PLANS)
    [event] = decided._decide()
    assert isinstance(event, inner_ev.ServicePlanChanged)
    assert (event.download_max_mbps, event.upload_max_mbps) == (50, 40)
    assert event.overrides == ["upload_max_mbps"]


def test_a_plan_change_refuses_a_retired_plan_and_changes_nothing_to_the_same_plan() -> None:
    on_it = sub_given(SUBSCRIPTION, on_basic())
    on_it.when(change(OLD), directory={}, plans=PLANS).then_raises(PlanRetired, pointer="/plan_id")
    on_it.when(change(BASIC), directory={}, plans=PLANS).then()


def test_a_plan_change_across_currencies_is_refused() -> None:
    plans_ = {**PLANS, FAST: plan(currency="EUR")}
    on_it = sub_given(SUBSCRIPTION, on_basic())
    on_it.when(change(FAST), directory={}, plans=plans_).then_raises(Invalid, pointer="/plan_id")


def test_a_custom_plan_service_moves_onto_a_plan_without_proration() -> None:
    custom = inner_ev.ServiceAdded(
        service_id=SERVICE, plan="Home 50M", download_max_mbps=50, upload_max_mbps=10
    )
    [event] = (
        sub_given(SUBSCRIPTION, custom).when(change(BASIC), directory={}, plans=PLANS)._decide()
    )
    assert isinstance(event, inner_ev.ServicePlanChanged)
    assert (event.from_plan_id, event.from_plan, event.proration) == (None, "Home 50M", None)
    assert (event.download_max_mbps, event.overrides) == (30, [])


def test_a_closed_subscription_refuses_a_plan_change() -> None:
    closed = sev.SubscriptionStatusChanged(from_status=Status.ACTIVE, to_status=Status.CANCELLED)
    refused = sub_given(SUBSCRIPTION, on_basic(), closed).when(
        change(FAST), directory={}, plans=PLANS
    )
    refused.then_raises(Closed)


@pytest.mark.parametrize(
    ("cycle", "day", "expected"),
    [
        ("monthly", date(2028, 2, 29), (date(2028, 2, 1), date(2028, 2, 29))),
        ("quarterly", date(2027, 12, 31), (date(2027, 10, 1), date(2027, 12, 31))),
        ("semiannual", date(2027, 7, 1), (date(2027, 7, 1), date(2027, 12, 31))),
        ("annual", date(2027, 3, 5), (date(2027, 1, 1), date(2027, 12, 31))),
    ],
)
def test_the_period_is_the_calendar_period_of_the_cycle(
    cycle: str, day: date, expected: tuple[date, date]
) -> None:
    assert period(cycle, day) == expected


def test_plan_ids_name_the_new_plan_and_the_one_the_service_is_on() -> None:
    state = Decider.of(subscription).fold((SUBSCRIPTION, on_basic()))
    assert subscription.plan_ids(change(FAST), state) == {FAST, BASIC}
    assert subscription.plan_ids(add(plan_id=str(FAST)), subscription.initial_state) == {FAST}
    assert subscription.plan_ids(add(plan_id="junk"), state) == set()


def test_an_edit_after_the_plan_changed_names_only_what_the_edit_changed() -> None:
    edited_plans = {**PLANS, BASIC: plan(name="Home 35", download_max_mbps=35)}
    decided = sub_given(SUBSCRIPTION, on_basic()).when(
        update(mac="aa:bb:cc:00:11:22"), directory={}, plans=edited_plans
    )
    [event] = decided._decide()
    assert isinstance(event, inner_ev.ServiceUpdated)
    assert event.changed == ["mac"]
    assert (event.plan, event.download_max_mbps) == ("Home 35", 35)  # as it now is
    nothing = sub_given(SUBSCRIPTION, on_basic()).when(
        update(parent_node=None), directory={}, plans=edited_plans
    )
    nothing.then()
    [moved] = (
        sub_given(SUBSCRIPTION, on_basic())
        .when(change(FAST), directory={}, plans=edited_plans)
        ._decide()
    )
    assert isinstance(moved, inner_ev.ServicePlanChanged) and moved.from_plan == "Home 35"


# --- pending plan changes --------------------------------------------------------------------


def scheduled(effective: object, plan_id: object = FAST, now: datetime = NOW) -> ChangeServicePlan:
    return ChangeServicePlan(
        subscription_id=SUB, service_id=SERVICE, plan_id=plan_id, effective=effective, now=now
    )


NEXT_MONTH = datetime(2027, 2, 1, tzinfo=UTC)
PENDING = inner_ev.ServicePlanChangeScheduled(
    service_id=SERVICE, to_plan_id=FAST, plan="Home 50", effective_at=NEXT_MONTH
)


def test_a_change_at_the_next_cycle_is_pending_from_the_next_periods_first_day() -> None:
    state = (
        sub_given(SUBSCRIPTION, on_basic())
        .when(scheduled("next_cycle"), directory={}, plans=PLANS)
        .then(PENDING)
    )
    assert state.items.services[SERVICE].plan_id == BASIC  # nothing moved yet
    assert state.items.pending[SERVICE] == PENDING
    again = sub_given(SUBSCRIPTION, on_basic(), PENDING).when(
        scheduled("next_cycle"), directory={}, plans=PLANS
    )
    again.then()


def test_a_change_for_a_moment_must_lie_ahead_and_have_a_time_zone() -> None:
    on_it = sub_given(SUBSCRIPTION, on_basic())
    moment = datetime(2027, 1, 20, 6, 0, tzinfo=UTC)
    on_it.when(scheduled(moment.isoformat()), directory={}, plans=PLANS).then(
        PENDING.model_copy(update={"effective_at": moment})
    )
    past, naive = datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 3, 1)
    for refused in (NOW, past, naive, "2027-02-30T00:00:00Z", "soon", "10000-01-01T00:00:00Z"):
        text = refused if isinstance(refused, str) else refused.isoformat()
        decided = on_it.when(scheduled(text), directory={}, plans=PLANS)
        decided.then_raises(Invalid, pointer="/effective")
    on_it.when(scheduled("next_cycle", OLD), directory={}, plans=PLANS).then_raises(
        PlanRetired, pointer="/plan_id"
    )


def test_a_pending_change_is_cancelled_once() -> None:
    cancel = CancelPlanChange(subscription_id=SUB, service_id=SERVICE, now=NOW)
    state = (
        sub_given(SUBSCRIPTION, on_basic(), PENDING)
        .when(cancel, directory={}, plans=PLANS)
        .then(inner_ev.ServicePlanChangeCancelled(service_id=SERVICE, to_plan_id=FAST))
    )
    assert SERVICE not in state.items.pending
    sub_given(SUBSCRIPTION, on_basic()).when(cancel, directory={}, plans=PLANS).then()


def test_a_pending_change_is_applied_when_due_and_not_before() -> None:
    def apply(now: datetime) -> ApplyPlanChange:
        return ApplyPlanChange(subscription_id=SUB, service_id=SERVICE, now=now)

    pending = sub_given(SUBSCRIPTION, on_basic(), PENDING)
    early = datetime(2027, 1, 31, 23, 59, tzinfo=UTC)
    pending.when(apply(early), directory={}, plans=PLANS).then()
    [moved] = pending.when(apply(NEXT_MONTH), directory={}, plans=PLANS)._decide()
    assert isinstance(moved, inner_ev.ServicePlanChanged)
    assert (moved.to_plan_id, moved.effective_at, moved.download_max_mbps) == (FAST, NEXT_MONTH, 50)
    # On a period's first day the whole period is at the new price: 28 days of 28 in February.
    assert moved.proration is not None
    assert (moved.proration.days_left, moved.proration.net) == (28, Decimal("20.00"))
    later = sub_given(SUBSCRIPTION, on_basic(), PENDING, moved)
    later.when(apply(NEXT_MONTH), directory={}, plans=PLANS).then()
    after = Decider.of(subscription).fold((SUBSCRIPTION, on_basic(), PENDING, moved))
    assert SERVICE not in after.items.pending
    closed = sev.SubscriptionStatusChanged(from_status=Status.ACTIVE, to_status=Status.COMPLETED)
    gone = sub_given(SUBSCRIPTION, on_basic(), PENDING, closed)
    gone.when(apply(NEXT_MONTH), directory={}, plans=PLANS).then()


def test_scheduling_the_plan_the_service_is_on_drops_what_was_pending() -> None:
    cancelled = inner_ev.ServicePlanChangeCancelled(service_id=SERVICE, to_plan_id=FAST)
    stay = scheduled("next_cycle", BASIC)
    sub_given(SUBSCRIPTION, on_basic(), PENDING).when(stay, directory={}, plans=PLANS).then(
        cancelled
    )
    sub_given(SUBSCRIPTION, on_basic()).when(stay, directory={}, plans=PLANS).then()
