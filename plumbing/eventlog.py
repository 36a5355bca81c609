"""Reading the event log (`events.events`) in commit-safe order, and "reached position P".

Commit-safe order. `position` comes from an identity sequence, so positions are handed out when
rows are inserted, not when their transactions commit: a reader that remembered only "the last
position I saw" would skip an event whose transaction took a lower position and committed later.
Each row therefore stores the id of its transaction (`txid`), and global readers (the relay, the
projections, rebuilds) read only rows whose transaction is older than the oldest transaction
still running on the server (`pg_snapshot_xmin(pg_current_snapshot())`). Every such transaction
has ended, so no new row can appear below that horizon. They read in `(txid, position)` order and
remember the last `(txid, position)` pair they applied: a `Checkpoint`; "(txid, position) <=
checkpoint" then means "applied", exactly and for good. The horizon is cluster-wide, so a long
transaction anywhere holds readers back: pools set `idle_in_transaction_session_timeout`, and
the relay and projections report their lag.

This module is the published reader of two tables it does not write: `events.events` (the
subscription service's) and `read.checkpoints` (the projections'). Every other service reads
them through these functions only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from contracts.base import Event
from contracts.envelope import EventEnvelope, Metadata
from contracts.events import CURRENT_SCHEMA_VERSION, EVENT_TYPES, parse_payload, upcast

log = logging.getLogger(__name__)

Executor = asyncpg.Pool | asyncpg.Connection


@dataclass(frozen=True, order=True)
class Checkpoint:
    """The last event a global reader applied, in commit-safe order."""

    txid: int = 0
    position: int = 0


@dataclass(eq=False, slots=True)
class StoredEvent:
    """One row of events.events.

    Payload and metadata arrive as JSON text and are decoded only when used: most readers pass
    over most events, and some copy the text as it is.
    """

    position: int
    txid: int
    event_id: UUID
    tenant_id: str
    stream_id: UUID
    stream_type: str
    version: int
    type: str
    schema_version: int
    data_json: str
    metadata_json: str
    occurred_at: datetime
    _payload: Event | None = field(default=None, repr=False)
    _metadata: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self.txid, self.position)

    @property
    def data(self) -> dict[str, Any]:
        """The payload as stored (its schema version may be older than today's)."""
        decoded: dict[str, Any] = json.loads(self.data_json)
        return decoded

    @property
    def metadata(self) -> dict[str, Any]:
        """Actor, correlation and causation ids, idempotency key, import id (decoded once)."""
        if self._metadata is None:
            self._metadata = json.loads(self.metadata_json)
        return self._metadata

    @property
    def actor(self) -> str:
        return str(self.metadata.get("actor") or "unknown")

    def payload(self) -> Event:
        """Typed payload, lifted to the current schema version (parsed once)."""
        if self._payload is None:
            model = EVENT_TYPES.get(self.type)
            if model is not None and CURRENT_SCHEMA_VERSION[self.type] == self.schema_version:
                # What parse_payload gives, without building a dict first: no upcast is due.
                self._payload = model.model_validate_json(self.data_json)
            else:
                self._payload = parse_payload(self.type, self.schema_version, self.data)
        return self._payload

    def current_data_json(self) -> str:
        """The payload lifted to the current schema version, as JSON text."""
        if CURRENT_SCHEMA_VERSION.get(self.type, self.schema_version) == self.schema_version:
            return self.data_json
        return json.dumps(upcast(self.type, self.schema_version, self.data))

    def envelope_json(self) -> bytes:
        """The envelope as JSON, built from the stored JSON texts: what `envelope()` holds,
        without decoding the payload or the metadata (the relay publishes every event)."""
        occurred_at = self.occurred_at.isoformat()
        if occurred_at.endswith("+00:00"):
            occurred_at = occurred_at[:-6] + "Z"  # as pydantic writes UTC
        head = _json_text(
            {
                "event_id": str(self.event_id),
                "type": self.type,
                "schema_version": self.schema_version,
                "tenant_id": self.tenant_id,
                "stream_id": str(self.stream_id),
                "stream_type": self.stream_type,
                "version": self.version,
                "position": self.position,
                "occurred_at": occurred_at,
            }
        )
        body = f'{head[:-1]},"metadata":{self.metadata_json},"data":{self.data_json}}}'
        return body.encode()

    def envelope(self) -> EventEnvelope:
        """The envelope as published and served."""
        return EventEnvelope(
            event_id=self.event_id,
            type=self.type,
            schema_version=self.schema_version,
            tenant_id=self.tenant_id,
            stream_id=self.stream_id,
            stream_type=self.stream_type,
            version=self.version,
            position=self.position,
            occurred_at=self.occurred_at,
            metadata=Metadata.model_validate_json(self.metadata_json),
            data=self.data,
        )


_json_text = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

COLUMNS = """e.position, e.txid::text::bigint as txid, e.event_id, e.tenant_id, e.stream_id,
    e.stream_type, e.version, e.type, e.schema_version, e.data::text, e.metadata::text,
    e.occurred_at"""

# `order by e.txid`, qualified: a bare `txid` would name the bigint output column, and sorting
# on that expression cannot use the (txid, position) index (a full sort of the table per batch).
READ_COMMITTED = f"""
select {COLUMNS} from events.events e
where (e.txid, e.position) > ($1::text::xid8, $2::bigint)
  and e.txid < pg_snapshot_xmin(pg_current_snapshot())
order by e.txid, e.position
limit $3
"""

# The same, with whether each row is below the horizon yet: rows past the checkpoint that are
# committed but not readable (an older transaction still runs) sort after every readable one, so
# one row beyond `limit` tells a reader whether to look again soon.
READ_COMMITTED_OR_WAITING = f"""
select {COLUMNS}, e.txid < pg_snapshot_xmin(pg_current_snapshot()) as readable
from events.events e
where (e.txid, e.position) > ($1::text::xid8, $2::bigint)
order by e.txid, e.position
limit $3 + 1
"""

HEAD = "select coalesce(max(position), 0) from events.events"

# A position beyond every committed event is not reached yet: events may still be appended below.
REACHED = """
with checkpoint as (
    select coalesce(max(txid), '0'::xid8) as txid, coalesce(max(position), 0) as position
    from read.checkpoints where projection = $1
)
select $2 <= (select coalesce(max(position), 0) from events.events) and not exists (
    select 1 from events.events e, checkpoint c
    where (e.txid, e.position) > (c.txid, c.position) and e.position <= $2
)
"""

# Per projection: the committed events after its checkpoint (not applied yet) and the age in
# seconds of the oldest of them (0 when there is none).
LAG = """
select c.projection,
       count(e.position) as behind,
       coalesce(extract(epoch from now() - min(e.occurred_at)), 0)::float8 as oldest_age
from read.checkpoints c
left join events.events e on (e.txid, e.position) > (c.txid, c.position)
group by c.projection
order by c.projection
"""


def stored_events(rows: list[Any]) -> list[StoredEvent]:
    """Rows selected with COLUMNS, as events."""
    return [StoredEvent(*row) for row in rows]


async def read_committed(executor: Executor, after: Checkpoint, limit: int) -> list[StoredEvent]:
    """Events after a checkpoint, in commit-safe order; never one that may yet precede."""
    rows = await executor.fetch(READ_COMMITTED, str(after.txid), after.position, limit)
    return stored_events(rows)


async def read_committed_or_waiting(
    executor: Executor, after: Checkpoint, limit: int
) -> tuple[list[StoredEvent], bool]:
    """`read_committed`, and whether committed events past those wait only for an older
    transaction to end (no append hint announces them becoming readable): in one statement."""
    rows = await executor.fetch(READ_COMMITTED_OR_WAITING, str(after.txid), after.position, limit)
    events = [StoredEvent(*row[:-1]) for row in rows[:limit] if row[-1]]
    waiting = len(events) < limit and any(not row[-1] for row in rows)
    return events, waiting


async def head(executor: Executor) -> int:
    """The highest position handed out so far (0 for an empty log)."""
    return int(await executor.fetchval(HEAD))


async def reached(executor: Executor, projection: str, position: int) -> bool:
    """Whether the projection has applied every committed event with position <= `position`."""
    return bool(await executor.fetchval(REACHED, projection, position))


async def wait_until_reached(
    executor: Executor, projection: str, position: int, wait_seconds: float
) -> bool:
    """Whether `projection` reached `position` within `wait_seconds` (True at once for 0)."""
    if position <= 0:
        return True
    deadline = time.monotonic() + wait_seconds
    delay = 0.01
    while not await reached(executor, projection, position):
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.25)
    return True


async def projection_lag(executor: Executor) -> dict[str, tuple[int, float]]:
    """Per projection: (events behind, age in seconds of the oldest unapplied event)."""
    return {r["projection"]: (r["behind"], r["oldest_age"]) for r in await executor.fetch(LAG)}


# Committed events at or below $1 that commit-safe readers cannot read yet, because a transaction
# older than theirs is still running somewhere on the server. The (txid, position) index makes
# this a short range scan above the horizon.
BEHIND_HORIZON = """
select exists (
    select 1 from events.events e
    where e.txid >= pg_snapshot_xmin(pg_current_snapshot()) and e.position <= $1
)
"""

OLDEST_TRANSACTION = """
select pid, datname, application_name, state, now() - xact_start as running_for
from pg_stat_activity
where backend_xid is not null or backend_xmin is not null
order by xact_start nulls last
limit 1
"""


async def readable(executor: Executor, position: int) -> bool:
    """Whether every committed event at or below `position` is readable in commit-safe order."""
    return not await executor.fetchval(BEHIND_HORIZON, position)


async def wait_until_readable(executor: Executor, position: int, warn_every: float = 10.0) -> None:
    """Return once every event committed at or below `position` can be read in commit-safe
    order; log the transaction holding the horizon back every `warn_every` seconds meanwhile."""
    loop = asyncio.get_running_loop()
    warn_at = loop.time() + warn_every
    delay = 0.01
    while not await readable(executor, position):
        if loop.time() >= warn_at:
            oldest = await executor.fetchrow(OLDEST_TRANSACTION)
            log.warning(
                "waiting for an older transaction to end before reading the event log",
                extra={"position": position, **(dict(oldest) if oldest else {})},
            )
            warn_at = loop.time() + warn_every
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.5)
