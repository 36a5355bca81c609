"""Running a command for a caller: identity, expected version and idempotency, written once.

A command sent with an idempotency key is answered once: the first outcome (its kind and body)
is remembered in the append's own statement, and the same key again gets that outcome back, or
IdempotencyKeyReused when it came with another request. The key is not looked up before the
command: a repeat is the rare case, and the append (or the remembering of a command that
appended nothing) refuses a key already kept, which answers with the first outcome. Only a
command refused on the way (a broken rule, a stale version) looks the key up then, since a
repeat may be refused by what its first run changed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID, uuid4

from contracts.commands import DirectoryCommand, PlanCommand, SubscriptionCommand
from contracts.envelope import Metadata
from services.subscription.domain.errors import DomainError
from services.subscription.usecases.errors import IdempotencyKeyReused
from services.subscription.write.eventstore import (
    AlreadyAnswered,
    EventStore,
    IdempotencyKey,
    Remembered,
    ReservationTaken,
)
from services.subscription.write.handlers import (
    Answer,
    Context,
    Handlers,
    LostRace,
    Outcome,
    VersionMismatch,
)

Kind = Literal["created", "changed"]
CREATED: Kind = "created"
CHANGED: Kind = "changed"


@dataclass(frozen=True)
class Call:
    """Who sends a command and how: actor and tenant, correlation, expected version, key."""

    actor: str
    tenant_id: str
    correlation_id: UUID = field(default_factory=uuid4)
    expected_version: int | None = None
    idempotency_key: str | None = None
    request_hash: str = ""  # what the key was sent with: the same key with another is refused

    def key(self) -> IdempotencyKey | None:
        """The idempotency key as the event store keeps it, if one was sent."""
        if self.idempotency_key is None:
            return None
        return IdempotencyKey(self.tenant_id, self.idempotency_key, self.request_hash)


@dataclass(frozen=True)
class Result:
    """What a command did: created or changed, its body, the stream's version and position."""

    kind: Kind
    body: dict[str, Any]
    version: int | None
    position: int
    replayed: bool = False  # the first outcome of an idempotency key, given again


Send = Callable[[Context], Awaitable[Outcome]]

# What a repeat may meet because its first run went through: its key answers it instead.
REFUSALS = (DomainError, VersionMismatch, ReservationTaken, LostRace)


class Runner:
    """Carries out one command for a caller, once per idempotency key."""

    def __init__(self, store: EventStore, handlers: Handlers) -> None:
        self._store = store
        self._handlers = handlers

    async def subscription(
        self, call: Call, command: SubscriptionCommand, answer: Answer
    ) -> Result:
        """Create or change a subscription for the caller."""

        async def send(ctx: Context) -> Outcome:
            return await self._handlers.subscription(ctx, command)

        return await self.run(call, send, answer)

    async def directory(self, call: Call, command: DirectoryCommand, answer: Answer) -> Result:
        """Register, edit or deactivate a directory entry for the caller."""

        async def send(ctx: Context) -> Outcome:
            return await self._handlers.directory(ctx, command)

        return await self.run(call, send, answer)

    async def plan(self, call: Call, command: PlanCommand, answer: Answer) -> Result:
        """Create, edit or retire a plan of the catalogue for the caller."""

        async def send(ctx: Context) -> Outcome:
            return await self._handlers.plan(ctx, command)

        return await self.run(call, send, answer)

    async def run(self, call: Call, send: Send, answer: Answer) -> Result:
        """Send a command with the caller's context; a known key gets its first outcome."""
        key = call.key()
        ctx = Context(
            tenant_id=call.tenant_id,
            metadata=Metadata(
                actor=call.actor,
                correlation_id=call.correlation_id,
                idempotency_key=call.idempotency_key,
            ),
            if_match=call.expected_version,
            idempotency=key,
            answer=answer if key is not None else None,
        )
        try:
            outcome = await send(ctx)
        except AlreadyAnswered as exc:  # the key was kept by an earlier or concurrent request
            assert key is not None
            return _replay(exc.remembered, key)
        except REFUSALS:
            remembered = None if key is None else await self._store.recall(key.tenant_id, key.key)
            if remembered is None:
                raise
            assert key is not None
            return _replay(remembered, key)
        kind, body = answer(outcome)
        return Result(kind, body, outcome.version, outcome.position)


def _replay(remembered: Remembered, key: IdempotencyKey) -> Result:
    if remembered.request_hash != key.request_hash:
        raise IdempotencyKeyReused(key.key)
    body = remembered.body
    kind: Kind = CREATED if remembered.outcome == CREATED else CHANGED
    return Result(kind, body, body.get("version"), body.get("position", 0), replayed=True)


def now() -> datetime:
    """The moment a command is made: commands carry their time."""
    return datetime.now(UTC)


def changed(outcome: Outcome) -> tuple[str, dict[str, Any]]:
    """A command on an existing resource: its id, version and position."""
    return CHANGED, {
        "id": str(outcome.stream_id),
        "version": outcome.version,
        "position": outcome.position,
    }


def item(kind: Kind, item_id: UUID) -> Answer:
    """A command on one item of a stream (a service, a payment, ...): the item's id."""

    def answer(outcome: Outcome) -> tuple[str, dict[str, Any]]:
        return kind, {"id": str(item_id), "version": outcome.version, "position": outcome.position}

    return answer
