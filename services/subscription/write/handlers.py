"""Command handlers: load the stream, fold, decide, append at the expected version.

No business rule lives here. The one exception the design makes is uniqueness across streams
(unique IDs, addresses, logins), which only a reservation written in the append transaction
keeps race-free.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from contracts.commands import (
    CreateSubscription,
    DirectoryCommand,
    PlanCommand,
    SubscriptionCommand,
)
from contracts.envelope import Metadata
from contracts.radius import SetPassword
from services.subscription.domain import credentials, directory, plans, subscription
from services.subscription.write.entries import Entries, Read, reference, references
from services.subscription.write.eventstore import (
    Appended,
    ConcurrencyError,
    EventStore,
    IdempotencyKey,
    Remember,
    Reservation,
    StaleRead,
    StoredEvent,
    StreamAppend,
)

RETRIES_WITHOUT_IF_MATCH = 8


class VersionMismatch(Exception):
    """The caller's If-Match version is not the stream's current version."""

    def __init__(self, current: int) -> None:
        super().__init__(f"the resource is at version {current}")
        self.current = current


class LostRace(Exception):
    """Other writers kept changing the stream; the caller may retry."""


@dataclass(frozen=True)
class Outcome:
    """What a command did: the stream's version and the position of its last event."""

    stream_id: UUID
    version: int
    position: int
    appended: bool


# What a command did in the caller's words (`created`, `changed`) and the body answering it.
Answer = Callable[[Outcome], tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class Context:
    """Who sends the command, for which tenant, and how it is to be appended.

    With an idempotency key, `answer` gives the outcome remembered under it with the events.
    """

    tenant_id: str
    metadata: Metadata
    if_match: int | None = None
    idempotency: IdempotencyKey | None = None
    answer: Answer | None = None


class Handlers:
    """Carries out commands against the event store."""

    def __init__(self, store: EventStore, on_appended: Callable[[], None] | None = None) -> None:
        self._store = store
        self._on_appended = on_appended  # after each commit: wake the relay (hints.py)
        self._entries = Entries()  # directory entries read or written by this process

    async def directory(self, ctx: Context, command: DirectoryCommand) -> Outcome:
        """Register, edit or deactivate a directory entry."""

        async def attempt(first: bool) -> Outcome:
            stream = await self._store.load(ctx.tenant_id, command.entry_id)
            version = _check_version(stream, ctx.if_match)
            state = _fold(directory.evolve, directory.initial_state, stream)
            events = directory.decide(command, state)
            outcome = await self._append(
                ctx, command.entry_id, command.kind, version, events, stream
            )
            after = reference(_fold_payloads(directory.evolve, state, events))
            self._entries.remember(ctx.tenant_id, command.entry_id, outcome.version, after)
            return outcome

        return await self._retrying(ctx, attempt)

    async def plan(self, ctx: Context, command: PlanCommand) -> Outcome:
        """Create, edit or retire a plan of the catalogue."""

        async def attempt(first: bool) -> Outcome:
            stream = await self._store.load(ctx.tenant_id, command.plan_id)
            version = _check_version(stream, ctx.if_match)
            state = _fold(plans.evolve, plans.initial_state, stream)
            events = plans.decide(command, state)
            return await self._append(ctx, command.plan_id, "plan", version, events, stream)

        return await self._retrying(ctx, attempt)

    async def subscription(self, ctx: Context, command: SubscriptionCommand) -> Outcome:
        """Create or change a subscription."""

        async def attempt(first: bool) -> Outcome:
            # A create names a stream nobody wrote yet (expected version 0): nothing to load.
            # Were it written, unique (stream_id, version) refuses the append and the retry
            # loads it. The directory entries it refers to: as this process last read them.
            new = first and isinstance(command, CreateSubscription) and ctx.if_match is None
            referenced = subscription.referenced_ids(command)
            read = self._entries.known(ctx.tenant_id, referenced)
            unread = [i for i in referenced if i not in read]
            # The plans it names are read with it; the plan its service is on once it is known.
            named = subscription.plan_ids(command, subscription.initial_state)
            loaded = [*unread, *named] if new else [command.subscription_id, *unread, *named]
            streams = await self._store.load_many(ctx.tenant_id, loaded) if loaded else {}
            read |= self._entries.fold(ctx.tenant_id, {i: streams.get(i, []) for i in unread})
            stream = streams.get(command.subscription_id, [])
            version = _check_version(stream, ctx.if_match)
            state = _fold(subscription.evolve, subscription.initial_state, stream)
            plan_ids = subscription.plan_ids(command, state)
            if plan_ids - named:
                streams |= await self._store.load_many(ctx.tenant_id, list(plan_ids - named))
            seen_plans, plan_versions = _plans({i: streams.get(i, []) for i in plan_ids})
            events = subscription.decide(command, state, _seen(read), seen_plans)
            after = _fold_payloads(subscription.evolve, state, events)
            reserve, release = claims_change(state, after)
            expect = [(entry_id, entry_version) for entry_id, (entry_version, _) in read.items()]
            expect += plan_versions  # a plan edited or retired meanwhile: decided again
            try:
                return await self._append(
                    ctx, command.subscription_id, "subscription", version, events, stream,
                    reserve, release, expect,
                )  # fmt: skip
            except StaleRead:
                self._entries.forget(ctx.tenant_id, referenced)
                raise

        return await self._retrying(ctx, attempt)

    async def password(self, ctx: Context, command: SetPassword) -> Outcome:
        """Record that a service's or hotspot account's password was set (never the password)."""

        async def attempt(first: bool) -> Outcome:
            stream = await self._store.load(ctx.tenant_id, command.subscription_id)
            version = _check_version(stream, ctx.if_match)
            state = _fold(subscription.evolve, subscription.initial_state, stream)
            events = credentials.decide(command, state)
            return await self._append(
                ctx, command.subscription_id, "subscription", version, events, stream
            )

        return await self._retrying(ctx, attempt)

    async def _append(
        self,
        ctx: Context,
        stream_id: UUID,
        stream_type: str,
        version: int,
        events: Sequence[Any],
        stream: list[StoredEvent],
        reserve: Sequence[Reservation] = (),
        release: Sequence[Reservation] = (),
        expect: Sequence[tuple[UUID, int]] = (),
    ) -> Outcome:
        if not events:
            position = stream[-1].position if stream else 0
            outcome = Outcome(stream_id, version, position, appended=False)
            if ctx.idempotency is not None and ctx.answer is not None:
                await self._store.remember(Remember(ctx.idempotency, *ctx.answer(outcome)))
            return outcome
        item = StreamAppend(
            ctx.tenant_id,
            stream_id,
            stream_type,
            version,
            events,
            ctx.metadata,
            datetime.now(UTC),
            reserve=reserve,
            release=release,
            expect=expect,
        )
        remember = []
        if ctx.idempotency is not None and ctx.answer is not None:
            # The position is not known before the statement; it fills the body's in.
            planned = Outcome(stream_id, version + len(events), 0, appended=True)
            outcome, body = ctx.answer(planned)
            remember.append(Remember(ctx.idempotency, outcome, body, stream_id=stream_id))
        appended = await self._store.append([item], remember)
        if self._on_appended is not None:
            self._on_appended()
        return _outcome(appended[0])

    async def _retrying(self, ctx: Context, attempt: Callable[[bool], Any]) -> Outcome:
        # With If-Match the caller asked for exactly one version: a lost race is theirs to see.
        # Without it, a lost race is retried on the fresh stream, so no update is lost. A
        # directory entry that changed since it was read is read again either way: the caller's
        # stream did not move.
        for tries in range(RETRIES_WITHOUT_IF_MATCH):
            try:
                outcome: Outcome = await attempt(tries == 0)
                return outcome
            except StaleRead:
                continue
            except ConcurrencyError:
                if ctx.if_match is not None:
                    raise VersionMismatch(ctx.if_match) from None
                await asyncio.sleep(random.uniform(0, 0.005 * (tries + 1)))
        raise LostRace("the resource kept changing; retry")


def _plans(
    streams: dict[UUID, list[StoredEvent]],
) -> tuple[subscription.Plans, list[tuple[UUID, int]]]:
    """Plans as the subscription decider sees them, and the version each was read at."""
    found: dict[UUID, subscription.Plan] = {}
    for plan_id, events in streams.items():
        state = _fold(plans.evolve, plans.initial_state, events)
        if isinstance(state, plans.Plan) and events[0].stream_type == "plan":
            found[plan_id] = state
    versions = [
        (plan_id, events[-1].version if events else 0) for plan_id, events in streams.items()
    ]
    return found, versions


def _seen(read: dict[UUID, Read]) -> subscription.Directory:
    return {entry_id: found for entry_id, (_, found) in read.items() if found is not None}


def claims_change(
    before: subscription.State, after: subscription.State
) -> tuple[list[Reservation], list[Reservation]]:
    """Reservations to take and to release when a subscription moves from one state to another."""
    held_before, held_after = subscription.held(before), subscription.held(after)
    reserve = [Reservation(c.kind, c.value) for c in sorted(held_after - held_before)]
    release = [Reservation(c.kind, c.value) for c in sorted(held_before - held_after)]
    return reserve, release


def _outcome(appended: Appended) -> Outcome:
    return Outcome(appended.stream_id, appended.version, appended.position, appended=True)


def _check_version(stream: list[StoredEvent], if_match: int | None) -> int:
    version = stream[-1].version if stream else 0
    if if_match is not None and stream and if_match != version:
        raise VersionMismatch(version)
    return version


def _fold(evolve: Callable[[Any, Any], Any], initial: Any, stream: list[StoredEvent]) -> Any:
    state = initial
    for event in stream:
        state = evolve(state, event.payload())
    return state


def _fold_payloads(evolve: Callable[[Any, Any], Any], state: Any, events: Sequence[Any]) -> Any:
    for event in events:
        state = evolve(state, event)
    return state


__all__ = [
    "Context",
    "Handlers",
    "LostRace",
    "Outcome",
    "VersionMismatch",
    "claims_change",
    "references",
]
