"""A service on a catalogue plan: which plan, and which of its rates are the service's own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from contracts import inner as ev
from services.subscription.domain.errors import InvalidReference, PlanRetired
from services.subscription.domain.plans import SHAPING_FIELDS, Plan, Plans, shaping


def plan_id_of(values: Mapping[str, Any]) -> UUID | None:
    """The `plan_id` a service's fields name (None: a custom plan)."""
    raw = values.get("plan_id")
    if raw is None or isinstance(raw, UUID):
        return raw
    try:
        return UUID(str(raw))
    except ValueError:
        raise InvalidReference("plan_id must be a plan id", "/plan_id") from None


def plan_named(plans: Plans, plan_id: UUID) -> Plan:
    """The plan of the tenant with this id; 422 naming `plan_id` when there is none."""
    plan = plans.get(plan_id)
    if plan is None:
        raise InvalidReference(f"unknown plan {plan_id}", "/plan_id")
    return plan


def on_plan(values: Mapping[str, Any], plans: Plans) -> tuple[dict[str, Any], list[str]]:
    """A service's fields with its plan's name, rates and QoS mode where it sets none of its
    own, and the names of those it sets (its overrides); a custom plan's as they are."""
    plan_id = plan_id_of(values)
    if plan_id is None:
        return dict(values), []
    plan = plan_named(plans, plan_id)
    own = {name: values[name] for name in SHAPING_FIELDS if values.get(name) is not None}
    return {**values, **shaping(plan), **own, "plan": plan.fields.name}, sorted(own)


def editable(old: ev.ServiceFields, changes: Mapping[str, Any]) -> dict[str, Any]:
    """A service's fields as an edit (or a plan change) starts from: the rates it follows left
    out, so that they follow the plan it is on after the edit. A service joining the catalogue
    follows its plan in every rate; one leaving it (`plan_id: null`) keeps the rates it had, as
    its own; one moving between plans keeps its overrides."""
    values: dict[str, Any] = old.model_dump(exclude={"type", "changed", "service_id", "overrides"})
    joining = old.plan_id is None and changes.get("plan_id") is not None
    leaving = old.plan_id is not None and "plan_id" in changes and changes["plan_id"] is None
    own: tuple[str, ...] | list[str]
    if joining:
        own = ()
    elif old.plan_id is None or leaving:
        own = SHAPING_FIELDS
    else:
        own = old.overrides
    for name in SHAPING_FIELDS:
        if name not in own:
            del values[name]
    return values


def not_retired(plans: Plans, plan_id: UUID | None, kept: UUID | None = None) -> None:
    """Refuse a plan newly given to a service when it is retired (the one it keeps is fine)."""
    if plan_id is None or plan_id == kept:
        return
    plan = plan_named(plans, plan_id)
    if plan.retired:
        raise PlanRetired(
            f"plan {plan.fields.name} is retired and offered to no new service", "/plan_id"
        )
