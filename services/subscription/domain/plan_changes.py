"""A service moved to another plan: now (prorated), at the next billing period, or at a chosen
moment (pending until the scheduler applies it when due), and a pending change cancelled."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any, assert_never
from uuid import UUID

from contracts import inner as ev
from contracts.base import Event
from contracts.commands import (
    ApplyPlanChange,
    CancelPlanChange,
    ChangeServicePlan,
    PlanChangeCommand,
)
from contracts.values import check_moment
from services.subscription.domain.errors import Invalid
from services.subscription.domain.inner import Items, present, service_fields
from services.subscription.domain.plans import Plans
from services.subscription.domain.proration import compatible, period, prorate
from services.subscription.domain.service_plans import editable, not_retired, plan_named

_MOVED = (
    "plan", "download_max_mbps", "upload_max_mbps", "download_min_mbps", "upload_min_mbps",
    "qos_mode", "overrides",
)  # fmt: skip


def decide(command: PlanChangeCommand, items: Items, plans: Plans) -> list[Event]:
    """Events that change, schedule, cancel or apply a service's plan change."""
    old = present(items.services, command.service_id, "service")
    pending = items.pending.get(command.service_id)
    match command:
        case ChangeServicePlan():
            if command.effective == "now":
                if command.plan_id == old.plan_id:
                    return []
                not_retired(plans, command.plan_id)
                return [_moved(command.service_id, old, command.plan_id, plans, command.now)]
            return _scheduled(command, old, pending, plans)
        case CancelPlanChange():
            return _cancelled(command.service_id, pending)
        case ApplyPlanChange():
            # The plan was offered when the change was scheduled: it is applied even if the plan
            # has been retired since.
            if pending is None or pending.effective_at > command.now:
                return []
            if pending.to_plan_id == old.plan_id:  # moved there meanwhile: nothing left to do
                return _cancelled(command.service_id, pending)
            moved = _moved(command.service_id, old, pending.to_plan_id, plans, pending.effective_at)
            return [moved]
        case _:
            assert_never(command)


def evolve(items: Items, event: Event) -> Items:
    """Items after a plan change, scheduled, cancelled or carried out."""
    match event:
        case ev.ServicePlanChanged():
            fields = {"plan_id": event.to_plan_id, **{n: getattr(event, n) for n in _MOVED}}
            moved = items.services[event.service_id].model_copy(update=fields)
            return replace(
                items,
                services={**items.services, event.service_id: moved},
                pending=_without(items.pending, event.service_id),
            )
        case ev.ServicePlanChangeScheduled():
            return replace(items, pending={**items.pending, event.service_id: event})
        case ev.ServicePlanChangeCancelled():
            return replace(items, pending=_without(items.pending, event.service_id))
        case _:
            return items


def _moved(
    service_id: UUID, old: ev.ServiceFields, plan_id: UUID, plans: Plans, at: datetime
) -> ev.ServicePlanChanged:
    """The service on the new plan from `at`: its rates after, the overrides it keeps, and the
    proration between two catalogue plans (a custom plan has no catalogue price to credit)."""
    new = service_fields({**editable(old, {"plan_id": plan_id}), "plan_id": plan_id}, plans)
    proration = None
    if old.plan_id is not None:
        proration = prorate(plan_named(plans, old.plan_id), plan_named(plans, plan_id), at)
    return ev.ServicePlanChanged(
        service_id=service_id,
        from_plan_id=old.plan_id,
        from_plan=_name(plans, old.plan_id, old.plan),
        to_plan_id=plan_id,
        **{name: getattr(new, name) for name in _MOVED},
        effective_at=at,
        proration=proration,
    )


def _scheduled(
    command: ChangeServicePlan,
    old: ev.ServiceFields,
    pending: ev.ServicePlanChangeScheduled | None,
    plans: Plans,
) -> list[Event]:
    plan = plan_named(plans, command.plan_id)
    # The period of the plan the service is on, or of the new one when it has a custom plan.
    current = plans.get(old.plan_id) if old.plan_id is not None else None
    at = _effective_at(command, (current or plan).fields.cycle)
    if command.plan_id == old.plan_id:  # staying on its plan: what was pending is dropped
        return _cancelled(command.service_id, pending)
    not_retired(plans, command.plan_id)
    if current is not None:
        compatible(current, plan)
    if pending is not None and (pending.to_plan_id, pending.effective_at) == (command.plan_id, at):
        return []
    scheduled = ev.ServicePlanChangeScheduled(
        service_id=command.service_id,
        to_plan_id=command.plan_id,
        plan=plan.fields.name,
        effective_at=at,
    )
    return [scheduled]


def _effective_at(command: ChangeServicePlan, cycle: str) -> datetime:
    """When a scheduled change takes effect: the next billing period's first day (00:00 UTC)
    or the moment asked for, which must lie ahead."""
    if command.effective == "next_cycle":
        _, last = period(cycle, command.now.astimezone(UTC).date())
        return datetime.combine(last + timedelta(days=1), time(), UTC)
    try:
        parsed = datetime.fromisoformat(command.effective)
    except ValueError:
        raise Invalid(
            'effective must be "now", "next_cycle" or a date-time (ISO 8601, e.g. '
            "2027-02-01T00:00:00Z)",
            "/effective",
        ) from None
    try:
        moment = check_moment(parsed).astimezone(UTC)
    except ValueError as exc:
        raise Invalid(f"effective {exc}", "/effective") from None
    if moment <= command.now:
        raise Invalid('effective must lie ahead; send "now" to change the plan now', "/effective")
    return moment


def _cancelled(service_id: UUID, pending: ev.ServicePlanChangeScheduled | None) -> list[Event]:
    if pending is None:
        return []
    return [ev.ServicePlanChangeCancelled(service_id=service_id, to_plan_id=pending.to_plan_id)]


def _name(plans: Plans, plan_id: UUID | None, fallback: str) -> str:
    """A plan's current name (a custom plan's own text)."""
    plan = plans.get(plan_id) if plan_id is not None else None
    return plan.fields.name if plan is not None else fallback


def _without(existing: Any, key: UUID) -> dict[UUID, Any]:
    return {k: v for k, v in existing.items() if k != key}
