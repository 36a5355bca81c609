"""Use cases of a subscription itself: create it, edit it, change its status and engineer,
reopen it."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from contracts.commands import (
    AssignEngineer,
    ChangeStatus,
    CreateSubscription,
    EditSubscription,
    ReopenSubscription,
)
from services.subscription.domain.errors import DomainError
from services.subscription.usecases.calls import CREATED, Call, Result, Runner, changed, now
from services.subscription.usecases.inputs import (
    EngineerAssignmentIn,
    ReopenIn,
    StatusIn,
    SubscriptionIn,
    SubscriptionPatch,
)
from services.subscription.write.eventstore import AlreadyAnswered, ReservationTaken
from services.subscription.write.handlers import Context, Handlers, Outcome
from services.subscription.write.unique_ids import BLOCK, UniqueIds


class Subscriptions:
    """Creating and changing subscriptions, for a caller."""

    def __init__(self, runner: Runner, handlers: Handlers, unique_ids: UniqueIds) -> None:
        self._runner = runner
        self._handlers = handlers
        self._unique_ids = unique_ids

    async def create(self, call: Call, data: SubscriptionIn) -> Result:
        """A new subscription with a fresh unique ID: its id, unique ID, version, position."""
        subscription_id = uuid4()
        unique_id = ""

        async def send(ctx: Context) -> Outcome:
            nonlocal unique_id
            # A number held by this process may have been imported meanwhile (the import moved
            # the sequence past it, not past what was held): the reservation refuses it, and the
            # next one is taken. Past a block, the numbers come from beyond the import.
            for _ in range(BLOCK + 1):
                unique_id = await self._unique_ids.next(ctx.tenant_id)
                command = CreateSubscription(
                    subscription_id=subscription_id,
                    unique_id=unique_id,
                    now=now(),
                    **data.model_dump(),
                )
                try:
                    return await self._handlers.subscription(ctx, command)
                except ReservationTaken as exc:
                    if exc.reservation.kind != "unique_id" or exc.reservation.value != unique_id:
                        raise
                except (DomainError, AlreadyAnswered):
                    # Refused, or a repeat: no event carries the number, so it is not used up.
                    self._unique_ids.give_back(ctx.tenant_id, unique_id)
                    raise
            raise RuntimeError("every unique ID taken was held by an imported subscription")

        def answer(outcome: Outcome) -> tuple[str, dict[str, Any]]:
            return CREATED, {
                "id": str(outcome.stream_id),
                "unique_id": unique_id,
                "version": outcome.version,
                "position": outcome.position,
            }

        return await self._runner.run(call, send, answer)

    async def edit(self, call: Call, subscription_id: UUID, data: SubscriptionPatch) -> Result:
        """Change the name, description, contact, organization or contract sent."""
        command = EditSubscription(subscription_id=subscription_id, changes=data.given(), now=now())
        return await self._runner.subscription(call, command, changed)

    async def change_status(self, call: Call, subscription_id: UUID, data: StatusIn) -> Result:
        """Move the subscription to another status, with an optional reason."""
        command = ChangeStatus(
            subscription_id=subscription_id, status=data.status, reason=data.reason, now=now()
        )
        return await self._runner.subscription(call, command, changed)

    async def reopen(self, call: Call, subscription_id: UUID, data: ReopenIn) -> Result:
        """Bring a Cancelled or Completed subscription back to Inactive, taking back its
        addresses and logins (ReservationTaken names the subscription holding one now)."""
        command = ReopenSubscription(subscription_id=subscription_id, reason=data.reason, now=now())
        return await self._runner.subscription(call, command, changed)

    async def assign_engineer(
        self, call: Call, subscription_id: UUID, data: EngineerAssignmentIn
    ) -> Result:
        """Give the subscription another engineer."""
        command = AssignEngineer(
            subscription_id=subscription_id, engineer_id=data.engineer_id, now=now()
        )
        return await self._runner.subscription(call, command, changed)
