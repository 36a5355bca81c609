"""Status changes staff schedule for a moment to come ("cancel at the end of the contract"),
carried out by the scheduler when due, or cancelled."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import assert_never
from uuid import UUID

from contracts import billing as ev
from contracts.base import Event
from contracts.subscription import Status, SubscriptionStatusChanged
from contracts.values import check_moment
from services.subscription.domain.errors import AlreadyExists, Closed, Invalid, NotFound
from services.subscription.domain.references import optional_text

Schedules = Mapping[UUID, ev.StatusChangeScheduled]
ScheduleCommand = (
    ev.ScheduleStatusChange | ev.CancelScheduledStatusChange | ev.ApplyScheduledStatusChange
)


def decide(command: ScheduleCommand, status: Status, schedules: Schedules) -> list[Event]:
    """Schedule, cancel or carry out a status change of a subscription in `status`."""
    match command:
        case ev.ScheduleStatusChange():
            if status.is_closed:
                raise Closed(f"the subscription is {status.value} and cannot be changed")
            if command.schedule_id in schedules:
                raise AlreadyExists(f"scheduled status change {command.schedule_id} exists")
            return [
                ev.StatusChangeScheduled(
                    schedule_id=command.schedule_id,
                    to_status=command.status,
                    reason=optional_text(command.reason, "reason"),
                    at=_ahead(command.at, command.now),
                )
            ]
        case ev.CancelScheduledStatusChange():
            if command.schedule_id not in schedules:
                raise NotFound(f"scheduled status change {command.schedule_id} not found")
            dropped = ev.ScheduledStatusChangeDropped(
                schedule_id=command.schedule_id, reason="cancelled"
            )
            return [dropped]
        case ev.ApplyScheduledStatusChange():
            return _apply(command, status, schedules.get(command.schedule_id))
        case _:
            assert_never(command)


def _apply(
    command: ev.ApplyScheduledStatusChange,
    status: Status,
    scheduled: ev.StatusChangeScheduled | None,
) -> list[Event]:
    if scheduled is None or scheduled.at > command.now:
        return []
    if status.is_closed or status == scheduled.to_status:
        # Nothing left to do: the subscription closed, or is there already.
        dropped = ev.ScheduledStatusChangeDropped(
            schedule_id=scheduled.schedule_id, reason=f"already {status.value}"
        )
        return [dropped]
    changed = SubscriptionStatusChanged(
        from_status=status,
        to_status=scheduled.to_status,
        reason=scheduled.reason,
        cause="scheduled",
        schedule_id=scheduled.schedule_id,
    )
    return [changed]


def evolve(schedules: Schedules, event: Event) -> Schedules:
    """Schedules after one scheduled, cancelled or carried out."""
    match event:
        case ev.StatusChangeScheduled():
            return {**schedules, event.schedule_id: event}
        case ev.ScheduledStatusChangeDropped():
            return {k: v for k, v in schedules.items() if k != event.schedule_id}
        case SubscriptionStatusChanged() if event.schedule_id is not None:
            return {k: v for k, v in schedules.items() if k != event.schedule_id}
        case _:
            return schedules


def _ahead(at: datetime, now: datetime) -> datetime:
    try:
        moment = check_moment(at)
    except ValueError as exc:
        raise Invalid(f"at {exc}", "/at") from None
    if moment.tzinfo is None:
        raise Invalid("at must carry its offset (e.g. 2027-02-01T00:00:00Z)", "/at")
    if moment <= now:
        raise Invalid("at must lie ahead; change the status now instead", "/at")
    return moment.astimezone(UTC)
