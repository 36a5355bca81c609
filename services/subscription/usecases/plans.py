"""Use cases of the plan catalogue, and of moving a service to another plan."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from contracts.commands import (
    ApplyPlanChange,
    CancelPlanChange,
    ChangeServicePlan,
    CreatePlan,
    EditPlan,
    RetirePlan,
)
from services.subscription.usecases.calls import (
    CHANGED,
    CREATED,
    Call,
    Result,
    Runner,
    changed,
    item,
    now,
)
from services.subscription.usecases.inputs import Body, PlanChangeIn, RetireIn
from services.subscription.write.handlers import Outcome


class Plans:
    """Changes to the catalogue and to the plan a service is on, for a caller."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner

    async def create(self, call: Call, data: Body) -> Result:
        """A new plan: its id, version and position."""
        plan_id = uuid4()
        command = CreatePlan(plan_id=plan_id, fields=data.model_dump(mode="python"), now=now())
        return await self._runner.plan(call, command, item(CREATED, plan_id))

    async def edit(self, call: Call, plan_id: UUID, data: Body) -> Result:
        """Change the fields sent; the services on the plan follow its new rates."""
        changes = data.model_dump(mode="python", include=data.model_fields_set)
        command = EditPlan(plan_id=plan_id, changes=changes, now=now())
        return await self._runner.plan(call, command, changed)

    async def retire(self, call: Call, plan_id: UUID, data: RetireIn | None) -> Result:
        """Offer the plan to no new service; the services on it keep it."""
        reason = data.reason if data else None
        command = RetirePlan(plan_id=plan_id, reason=reason, now=now())
        return await self._runner.plan(call, command, changed)

    async def change_service_plan(
        self, call: Call, subscription_id: UUID, service_id: UUID, data: PlanChangeIn
    ) -> Result:
        """Move a service to another plan now (prorated) or schedule the move: the service's
        id, the subscription's version and position."""
        command = ChangeServicePlan(
            subscription_id=subscription_id,
            service_id=service_id,
            plan_id=data.plan_id,
            effective=data.effective,
            now=now(),
        )
        return await self._runner.subscription(call, command, item(CHANGED, service_id))

    async def cancel_plan_change(
        self, call: Call, subscription_id: UUID, service_id: UUID
    ) -> Result:
        """Drop the plan change pending for a service: the subscription's version, position."""
        command = CancelPlanChange(
            subscription_id=subscription_id, service_id=service_id, now=now()
        )
        return await self._runner.subscription(call, command, _version)

    async def apply_plan_change(
        self, call: Call, subscription_id: UUID, service_id: UUID, at: datetime
    ) -> Result:
        """Carry out the plan change pending for a service if it is due at `at` (the scheduler's
        clock); nothing otherwise."""
        command = ApplyPlanChange(subscription_id=subscription_id, service_id=service_id, now=at)
        return await self._runner.subscription(call, command, item(CHANGED, service_id))


def _version(outcome: Outcome) -> tuple[str, dict[str, Any]]:
    return CHANGED, {"version": outcome.version, "position": outcome.position}
