"""Reading the event store in commit-safe order (read only: the projections never write it).

`position` is handed out when a row is inserted, not when its transaction commits, so a reader
that remembered only the last position would skip an event committed late with a lower one. Like
the event store's own readers, the projections read only rows whose transaction (`txid`) is older
than the oldest transaction still running on the server, in `(txid, position)` order, and
remember the last `(txid, position)` applied: a `Checkpoint`. No row can appear below that
horizon any more, so "(txid, position) <= checkpoint" means "applied", exactly and for good.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from contracts.base import Event
from contracts.envelope import EventEnvelope, Metadata
from contracts.events import CURRENT_SCHEMA_VERSION, EVENT_TYPES, parse_payload, upcast


@dataclass(frozen=True, order=True)
class Checkpoint:
    """The last event a projection applied, in commit-safe order."""

    txid: int = 0
    position: int = 0


@dataclass(eq=False, slots=True)
class StoredEvent:
    """One row of events.events.

    The payload arrives as JSON text and is decoded only when used (most projections pass over
    most events, and history copies the text as it is); of the metadata only the actor comes.
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
    actor: str
    occurred_at: datetime
    _payload: Event | None = field(default=None, repr=False)

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self.txid, self.position)

    @property
    def data(self) -> dict[str, Any]:
        """The payload as stored (its schema version may be older than today's)."""
        decoded: dict[str, Any] = json.loads(self.data_json)
        return decoded

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

    def envelope(self, metadata_json: str) -> EventEnvelope:
        """The envelope as the relay publishes it (metadata is not read with the batches)."""
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
            metadata=Metadata.model_validate_json(metadata_json),
            data=self.data,
        )


# `order by e.txid`, qualified: a bare `txid` would name the bigint output column, and sorting
# on that expression cannot use the (txid, position) index (a full sort of the table per batch).
READ_COMMITTED = """
select e.position, e.txid::text::bigint as txid, e.event_id, e.tenant_id, e.stream_id,
       e.stream_type, e.version, e.type, e.schema_version, e.data::text,
       coalesce(e.metadata->>'actor', 'unknown'), e.occurred_at
from events.events e
where (e.txid, e.position) > ($1::text::xid8, $2::bigint)
  and e.txid < pg_snapshot_xmin(pg_current_snapshot())
order by e.txid, e.position
limit $3
"""


async def read_committed(
    executor: asyncpg.Pool | asyncpg.Connection, after: Checkpoint, limit: int
) -> list[StoredEvent]:
    """Events after a checkpoint, in commit-safe order; never one that may yet precede."""
    rows = await executor.fetch(READ_COMMITTED, str(after.txid), after.position, limit)
    return [StoredEvent(*row) for row in rows]


METADATA = "select metadata::text from events.events where event_id = $1"


async def metadata_json(executor: asyncpg.Pool | asyncpg.Connection, event_id: UUID) -> str:
    """The stored metadata of one event, as JSON text (for its envelope)."""
    return str(await executor.fetchval(METADATA, event_id))
