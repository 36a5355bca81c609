"""Decider of the subscription stream: lifecycle here; items and account in their modules."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import assert_never
from uuid import UUID

from contracts import billing as billing_ev
from contracts import inner as inner_ev
from contracts import subscription as ev
from contracts.base import Event, FieldChange
from contracts.commands import (
    AddHotspot,
    AddService,
    ApplyPlanChange,
    AssignEngineer,
    CancelPlanChange,
    ChangeServicePlan,
    ChangeStatus,
    CreateSubscription,
    EditSubscription,
    LinkDevice,
    LogTouchpoint,
    RecordPayment,
    RefundPayment,
    RemoveHotspot,
    RemoveService,
    ReopenSubscription,
    SetBilling,
    SubscriptionCommand,
    UnlinkDevice,
    UpdateDevice,
    UpdateHotspot,
    UpdateService,
)
from contracts.subscription import Status
from services.subscription.domain import account, billing, inner, plan_changes, schedules
from services.subscription.domain.claims import Claim, claims
from services.subscription.domain.errors import (
    AlreadyExists,
    Closed,
    Invalid,
    InvalidReference,
    NotClosed,
    NotFound,
)
from services.subscription.domain.plans import Plan, Plans
from services.subscription.domain.references import (
    REFERENCE_FIELDS,
    Directory,
    Reference,
    as_uuid,
    optional_text,
    referenced_ids,
    require,
    required_text,
)
from services.subscription.domain.service_plans import plan_id_of

# The decider's whole interface, with what a handler needs to show it the directory.
__all__ = [
    "Directory",
    "Plan",
    "Plans",
    "Reference",
    "State",
    "decide",
    "evolve",
    "held",
    "initial_state",
    "plan_ids",
    "referenced_ids",
]


@dataclass(frozen=True)
class NoSubscription:
    pass


@dataclass(frozen=True)
class Subscription:
    unique_id: str
    name: str
    contact_id: UUID
    organization_id: UUID | None
    engineer_id: UUID
    service_contract_id: UUID | None
    status: Status
    description: str | None
    items: inner.Items = field(default_factory=inner.Items)
    account: account.Account = field(default_factory=account.Account)
    ledger: billing.Ledger = field(default_factory=billing.Ledger)
    schedules: schedules.Schedules = field(default_factory=dict)


State = NoSubscription | Subscription

initial_state: State = NoSubscription()


def decide(
    command: SubscriptionCommand, state: State, directory: Directory, plans: Plans | None = None
) -> list[Event]:
    """Events that carry out a subscription command, or a DomainError.

    `plans` holds the plans `plan_ids` names for the command and the state.
    """
    match command:
        case CreateSubscription():
            return _create(command, state, directory)
        case EditSubscription():
            return _edit(command, _open(state, command.subscription_id), directory)
        case ChangeStatus():
            current = _open(state, command.subscription_id)
            if command.status == current.status:
                return []
            return [
                ev.SubscriptionStatusChanged(
                    from_status=current.status,
                    to_status=command.status,
                    reason=optional_text(command.reason, "reason"),
                )
            ]
        case ReopenSubscription():
            return _reopen(command, _existing(state, command.subscription_id))
        case AssignEngineer():
            current = _open(state, command.subscription_id)
            if command.engineer_id == current.engineer_id:
                return []
            require(directory, "engineer_id", command.engineer_id)
            return [
                ev.SubscriptionEngineerAssigned(
                    from_engineer_id=current.engineer_id, to_engineer_id=command.engineer_id
                )
            ]
        case (
            AddService()
            | UpdateService()
            | RemoveService()
            | AddHotspot()
            | UpdateHotspot()
            | RemoveHotspot()
            | LinkDevice()
            | UpdateDevice()
            | UnlinkDevice()
        ):
            return inner.decide(command, _open(state, command.subscription_id).items, plans)
        case ChangeServicePlan() | CancelPlanChange():
            items = _open(state, command.subscription_id).items
            return plan_changes.decide(command, items, plans or {})
        case ApplyPlanChange():
            # A change falling due after the subscription closed is not carried out.
            current = _existing(state, command.subscription_id)
            if current.status.is_closed:
                return []
            return plan_changes.decide(command, current.items, plans or {})
        case SetBilling():
            return account.decide(command, _open(state, command.subscription_id).account)
        case RecordPayment() | RefundPayment() | LogTouchpoint():
            # Closed subscriptions still take payments, refunds and touchpoints.
            return account.decide(command, _existing(state, command.subscription_id).account)
        case billing_ev.IssueInvoice():
            current = _existing(state, command.subscription_id)
            if current.status.is_closed:  # a closed subscription is invoiced no more
                return []
            billed = current.account.billing
            return billing.issue(command, current.unique_id, billed, current.ledger)
        case billing_ev.SuspendOverdue():
            current = _existing(state, command.subscription_id)
            currency = _currency(current)
            return billing.suspend_overdue(command, current.status, currency, current.ledger)
        case billing_ev.ReactivatePaid():
            current = _existing(state, command.subscription_id)
            return billing.reactivate_paid(current.status, _currency(current), current.ledger)
        case (
            billing_ev.ScheduleStatusChange()
            | billing_ev.CancelScheduledStatusChange()
            | billing_ev.ApplyScheduledStatusChange()
        ):
            current = _existing(state, command.subscription_id)
            return schedules.decide(command, current.status, current.schedules)
        case _:
            assert_never(command)


def evolve(state: State, event: Event) -> State:
    """State after one event of a subscription stream."""
    match event:
        case ev.SubscriptionCreated():
            return Subscription(
                unique_id=event.unique_id,
                name=event.name,
                contact_id=event.contact_id,
                organization_id=event.organization_id,
                engineer_id=event.engineer_id,
                service_contract_id=event.service_contract_id,
                status=event.status,
                description=event.description,
            )
        case ev.SubscriptionEdited():
            assert isinstance(state, Subscription)
            values: dict[str, object] = {
                name: _field_value(name, change) for name, change in event.changes.items()
            }
            return replace(state, **values)  # type: ignore[arg-type]
        case ev.SubscriptionStatusChanged():
            assert isinstance(state, Subscription)
            return replace(
                state,
                status=event.to_status,
                ledger=billing.evolve(state.ledger, event),
                schedules=schedules.evolve(state.schedules, event),
            )
        case ev.SubscriptionReopened():
            assert isinstance(state, Subscription)
            ledger = replace(state.ledger, overdue_from=None)
            return replace(state, status=event.to_status, ledger=ledger)
        case ev.SubscriptionEngineerAssigned():
            assert isinstance(state, Subscription)
            return replace(state, engineer_id=event.to_engineer_id)
        case (
            inner_ev.BillingSet()
            | inner_ev.PaymentRecorded()
            | inner_ev.PaymentRefunded()
            | inner_ev.TouchpointLogged()
        ):
            assert isinstance(state, Subscription)
            return replace(
                state,
                account=account.evolve(state.account, event),
                ledger=billing.evolve(state.ledger, event),
            )
        case (
            inner_ev.ServiceAdded()
            | inner_ev.ServiceUpdated()
            | inner_ev.ServiceStatusChanged()
            | inner_ev.ServiceRemoved()
            | inner_ev.HotspotAdded()
            | inner_ev.HotspotUpdated()
            | inner_ev.HotspotRemoved()
            | inner_ev.DeviceLinked()
            | inner_ev.DeviceUpdated()
            | inner_ev.DeviceUnlinked()
        ):
            assert isinstance(state, Subscription)
            return replace(state, items=inner.evolve(state.items, event))
        case (
            inner_ev.ServicePlanChanged()
            | inner_ev.ServicePlanChangeScheduled()
            | inner_ev.ServicePlanChangeCancelled()
        ):
            assert isinstance(state, Subscription)
            return replace(
                state,
                items=plan_changes.evolve(state.items, event),
                ledger=billing.evolve(state.ledger, event),
            )
        case billing_ev.InvoiceIssued():
            assert isinstance(state, Subscription)
            return replace(state, ledger=billing.evolve(state.ledger, event))
        case billing_ev.StatusChangeScheduled() | billing_ev.ScheduledStatusChangeDropped():
            assert isinstance(state, Subscription)
            return replace(state, schedules=schedules.evolve(state.schedules, event))
        case _:
            return state


def _create(command: CreateSubscription, state: State, directory: Directory) -> list[Event]:
    if isinstance(state, Subscription):
        raise AlreadyExists(f"subscription {command.subscription_id} already exists")
    unique_id = required_text(command.unique_id, "unique_id")
    name = required_text(command.name, "name")
    for field_name in REFERENCE_FIELDS:
        ref = getattr(command, field_name)
        if ref is not None:
            require(directory, field_name, ref)
    return [
        ev.SubscriptionCreated(
            unique_id=unique_id,
            name=name,
            contact_id=command.contact_id,
            organization_id=command.organization_id,
            engineer_id=command.engineer_id,
            service_contract_id=command.service_contract_id,
            status=command.status,
            description=optional_text(command.description, "description"),
        )
    ]


def _reopen(command: ReopenSubscription, current: Subscription) -> list[Event]:
    # Reopening takes its addresses and logins back (held() sees it open again): the append
    # reserves them, or is refused naming the subscription that holds one now.
    if not current.status.is_closed:
        raise NotClosed(
            f"subscription {current.unique_id} is {current.status.value}: "
            "only a Cancelled or Completed subscription can be reopened"
        )
    return [
        ev.SubscriptionReopened(
            from_status=current.status,
            to_status=Status.INACTIVE,
            reason=required_text(command.reason, "reason"),
        )
    ]


def _edit(command: EditSubscription, current: Subscription, directory: Directory) -> list[Event]:
    changes: dict[str, FieldChange] = {}
    for field_name, raw in command.changes.items():
        new = _new_value(field_name, raw)
        old = getattr(current, field_name)
        if new == old:
            continue
        if field_name in REFERENCE_FIELDS and new is not None:
            assert isinstance(new, UUID)
            require(directory, field_name, new)
        changes[field_name] = FieldChange(old=_text(old), new=_text(new))
    return [ev.SubscriptionEdited(changes=changes)] if changes else []


def _new_value(field_name: str, raw: str | None) -> str | UUID | None:
    if field_name == "name":
        return required_text(raw, "name")
    if field_name == "description":
        return optional_text(raw, field_name)
    if field_name in ("contact_id",) and raw is None:
        raise Invalid("contact_id is required", "/contact_id")
    try:
        return as_uuid(raw)
    except ValueError:
        raise InvalidReference(f"{field_name} is not a valid id", f"/{field_name}") from None


def plan_ids(command: SubscriptionCommand, state: State) -> set[UUID]:
    """Plans the decider must be shown: those the command names and, once the state is
    known, the one the service concerned is on (it follows that plan's rates)."""
    match command:
        case AddService():
            named = {_plan_id(command.fields)}
        case UpdateService():
            named = {_plan_id(command.changes), _current_plan(state, command.service_id)}
        case ChangeServicePlan():
            named = {command.plan_id, _current_plan(state, command.service_id)}
        case ApplyPlanChange():
            named = {_current_plan(state, command.service_id), _pending_plan(state, command)}
        case _:
            named = set()
    return {plan_id for plan_id in named if plan_id is not None}


def _plan_id(values: dict[str, object]) -> UUID | None:
    try:
        return plan_id_of(values)
    except InvalidReference:  # `decide` refuses it, naming the field
        return None


def _pending_plan(state: State, command: ApplyPlanChange) -> UUID | None:
    if isinstance(state, Subscription) and command.service_id in state.items.pending:
        return state.items.pending[command.service_id].to_plan_id
    return None


def _current_plan(state: State, service_id: UUID) -> UUID | None:
    if isinstance(state, Subscription) and service_id in state.items.services:
        return state.items.services[service_id].plan_id
    return None


def held(state: State) -> frozenset[Claim]:
    """The unique values (ID, addresses, logins) the subscription holds in its tenant."""
    match state:
        case NoSubscription():
            return frozenset()
        case Subscription():
            services = [(s.ipv4, s.ipv6, s.pppoe_username) for s in state.items.services.values()]
            logins = [h.login for h in state.items.hotspots.values()]
            return claims(state.unique_id, not state.status.is_closed, services, logins)
        case _:
            assert_never(state)


def _currency(current: Subscription) -> str | None:
    """The currency the account is kept in: its billing's (none before billing is set)."""
    return current.account.billing.currency if current.account.billing is not None else None


def _existing(state: State, subscription_id: UUID) -> Subscription:
    if isinstance(state, NoSubscription):
        raise NotFound(f"subscription {subscription_id} not found")
    return state


def _open(state: State, subscription_id: UUID) -> Subscription:
    match state:
        case NoSubscription():
            raise NotFound(f"subscription {subscription_id} not found")
        case Subscription():
            if state.status.is_closed:
                raise Closed(
                    f"subscription {state.unique_id} is {state.status.value} and cannot be changed"
                )
            return state
        case _:
            assert_never(state)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _field_value(field_name: str, change: FieldChange) -> str | UUID | None:
    if field_name in REFERENCE_FIELDS:
        return as_uuid(change.new)
    return change.new
