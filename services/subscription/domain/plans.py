"""Decider of the plan catalogue: each plan of a tenant is a stream of its own."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, assert_never
from uuid import UUID

from contracts import plans as ev
from contracts.base import Event
from contracts.commands import CreatePlan, EditPlan, PlanCommand, RetirePlan
from contracts.values import check_text, parse_currency, parse_money
from services.subscription.domain.errors import AlreadyExists, Invalid, NotFound
from services.subscription.domain.fields import Fields

PLAN_FIELDS = set(ev.PlanFields.model_fields) - {"type"}
CYCLES = ("monthly", "quarterly", "semiannual", "annual")
# What a service takes from its plan unless it overrides it.
RATE_FIELDS = ("download_max_mbps", "upload_max_mbps", "download_min_mbps", "upload_min_mbps")
SHAPING_FIELDS = (*RATE_FIELDS, "qos_mode")
MAX_MBPS = 1_000_000


@dataclass(frozen=True)
class NoPlan:
    pass


@dataclass(frozen=True)
class Plan:
    """A plan as services see it: what it is, and whether it is still offered."""

    fields: ev.PlanFields
    retired: bool = False


PlanState = NoPlan | Plan

initial_state: PlanState = NoPlan()

Plans = Mapping[UUID, Plan]
"""Plans of the command's tenant, looked up by the ids the command and its service mention."""


def decide(command: PlanCommand, state: PlanState) -> list[Event]:
    """Events that carry out a plan command, or a DomainError."""
    match command:
        case CreatePlan():
            if isinstance(state, Plan):
                raise AlreadyExists(f"plan {command.plan_id} already exists")
            return [ev.PlanCreated(**_dump(_plan(command.fields)))]
        case EditPlan():
            old = _existing(state, command.plan_id).fields
            new = _plan({**_dump(old), **command.changes})
            before, after = _dump(old), _dump(new)
            changed = sorted(name for name in after if before[name] != after[name])
            return [ev.PlanEdited(changed=changed, **after)] if changed else []
        case RetirePlan():
            plan = _existing(state, command.plan_id)
            return [] if plan.retired else [ev.PlanRetired(reason=_reason(command.reason))]
        case _:
            assert_never(command)


def evolve(state: PlanState, event: Event) -> PlanState:
    """State after one event of a plan stream."""
    match event:
        case ev.PlanCreated() | ev.PlanEdited():
            fields = ev.PlanFields.model_validate(_dump(event))
            return Plan(fields, retired=isinstance(state, Plan) and state.retired)
        case ev.PlanRetired():
            assert isinstance(state, Plan)
            return Plan(state.fields, retired=True)
        case _:
            return state


def shaping(plan: Plan) -> dict[str, Any]:
    """The rates and QoS mode a service on the plan takes from it."""
    return {name: getattr(plan.fields, name) for name in SHAPING_FIELDS}


def rates(f: Fields) -> dict[str, Any]:
    """The four rates and the QoS mode of a plan or a service, checked: the maximums required,
    each minimum at most its maximum."""
    down = f.whole("download_max_mbps", required=True, high=MAX_MBPS)
    up = f.whole("upload_max_mbps", required=True, high=MAX_MBPS)
    down_min = f.whole("download_min_mbps", high=MAX_MBPS)
    up_min = f.whole("upload_min_mbps", high=MAX_MBPS)
    if down_min is not None and down is not None and down_min > down:
        raise Invalid("download_min_mbps must not exceed download_max_mbps", "/download_min_mbps")
    if up_min is not None and up is not None and up_min > up:
        raise Invalid("upload_min_mbps must not exceed upload_max_mbps", "/upload_min_mbps")
    return {
        "download_max_mbps": down,
        "upload_max_mbps": up,
        "download_min_mbps": down_min,
        "upload_min_mbps": up_min,
        "qos_mode": f.text("qos_mode", max_length=50),
    }


def _plan(values: Mapping[str, Any]) -> ev.PlanFields:
    f = Fields(values, PLAN_FIELDS)
    shaped = rates(f)
    return ev.PlanFields(
        name=f.text("name", required=True, max_length=100),
        **shaped,
        price=_price(values.get("price")),
        currency=f.parsed("currency", parse_currency, required=True),
        cycle=f.choice("cycle", CYCLES),
        data_cap_gb=f.whole("data_cap_gb", high=10**7),
    )


def _price(raw: Any) -> Decimal:
    if raw is None:
        raise Invalid("price is required", "/price")
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        raise Invalid("price must be a decimal string", "/price")
    try:
        return parse_money(raw)
    except ValueError as exc:
        raise Invalid(str(exc), "/price") from None


def _reason(reason: str | None) -> str | None:
    if reason is None:
        return None
    cleaned = reason.strip()
    if len(cleaned) > 500:
        raise Invalid("reason must be at most 500 characters", "/reason")
    try:
        return check_text(cleaned, multiline=True) or None
    except ValueError as exc:
        raise Invalid(f"reason {exc}", "/reason") from None


def _existing(state: PlanState, plan_id: UUID) -> Plan:
    if not isinstance(state, Plan):
        raise NotFound(f"plan {plan_id} not found")
    return state


def _dump(model: Any) -> dict[str, Any]:
    values: dict[str, Any] = model.model_dump(exclude={"type", "changed"})
    return values
