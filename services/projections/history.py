"""Projection `history`: every event of every stream in words, for the History tab (read.history).

Sentences name directory entries as they were called when the event happened, from
read.history_refs, which this projection keeps itself so that its rows depend only on the order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any
from uuid import UUID

import asyncpg

from contracts import directory as dev
from contracts.bulk import job_of
from contracts.events import EVENT_TYPES
from plumbing.eventlog import StoredEvent

from .directory import EDITED_TYPES, REGISTERED_TYPES
from .projection import Key, Projection, columns, copy_text, keys_arrays
from .summaries import REFERENCES, contract_label, summarise

COLUMNS = (
    "tenant_id", "stream_id", "version", "position", "event_id", "type", "actor",
    "occurred_at", "summary", "data",
)  # fmt: skip
REF_COLUMNS = ("tenant_id", "id", "kind", "name", "number")

LOAD_REFS = """
select tenant_id, id, kind, name, number from {history_refs}
where (tenant_id, id) in (select * from unnest($1::text[], $2::uuid[]))
"""
UPSERT_REFS = """
insert into {history_refs} (tenant_id, id, kind, name, number)
select * from unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[])
on conflict (tenant_id, id) do update set
    kind = excluded.kind, name = excluded.name, number = excluded.number
"""


class HistoryProjection(Projection):
    name = "history"
    tables = ("history", "history_refs")
    append_only = ("history",)
    # Every type the contracts know; those without a sentence of their own get a generic one.
    handles = frozenset(EVENT_TYPES)

    async def apply(self, conn: asyncpg.Connection, events: Sequence[StoredEvent]) -> None:
        """Describe each event with the names as of that event, then insert all rows at once."""
        refs = await self._load_refs(conn, events)
        changed: dict[Key, dict[str, Any]] = {}
        rows = []
        for event in events:
            key = (event.tenant_id, event.stream_id)
            names = partial(_name, refs, event.tenant_id)
            rows.append(
                {
                    "tenant_id": event.tenant_id,
                    "stream_id": event.stream_id,
                    "version": event.version,
                    "position": event.position,
                    "event_id": event.event_id,
                    "type": event.type,
                    "actor": event.actor,
                    "occurred_at": event.occurred_at,
                    "summary": _with_job(summarise(event.type, event.payload(), names), event),
                    "data": event.current_data_json(),
                }
            )
            if event.type in REGISTERED_TYPES or event.type in EDITED_TYPES:
                ref = _ref_after(refs.get(key), event)
                if ref is not None:
                    changed[key] = refs[key] = ref
        if changed:
            await conn.execute(self.sql(UPSERT_REFS), *columns(changed.values(), REF_COLUMNS))
        if rows:
            # Append-only: COPY, with the payload as the JSON text read from the store. A buffer,
            # not a file, which asyncpg reads in a thread (a hop per live batch), nor bytes,
            # which it takes for a path.
            await conn.copy_to_table(
                f"history{self.suffix}",
                schema_name="read",
                columns=COLUMNS,
                source=memoryview(copy_text(rows, COLUMNS)),
                format="text",
            )

    async def _load_refs(
        self, conn: asyncpg.Connection, events: Sequence[StoredEvent]
    ) -> dict[Key, dict[str, Any]]:
        wanted: set[Key] = set()
        for event in events:
            if event.type in EDITED_TYPES:
                wanted.add((event.tenant_id, event.stream_id))
            elif mentioned := MENTIONED.get(event.type):
                ids = mentioned(event.payload())
                wanted.update((event.tenant_id, i) for i in ids if i is not None)
        if not wanted:
            return {}
        found = await conn.fetch(self.sql(LOAD_REFS), *keys_arrays(wanted))
        return {(r["tenant_id"], r["id"]): dict(r) for r in found}


# Directory ids a subscription event names, by event type.
MENTIONED: dict[str, Callable[[Any], list[UUID | None]]] = {
    "subscription.created": lambda p: [getattr(p, f) for f in REFERENCES],
    "subscription.edited": lambda p: [
        _uuid(v) for f, c in p.changes.items() if f in REFERENCES for v in (c.old, c.new)
    ],
    "subscription.engineer_assigned": lambda p: [p.from_engineer_id, p.to_engineer_id],
}


def _with_job(summary: str, event: StoredEvent) -> str:
    """A change made by a bulk job names the job, so each subscription's history shows it."""
    job = job_of(event.metadata)
    return f"{summary} (bulk job {job})" if job else summary


def _name(refs: dict[Key, dict[str, Any]], tenant_id: str, entry_id: UUID | None) -> str:
    ref = refs.get((tenant_id, entry_id)) if entry_id else None  # type: ignore[arg-type]
    return _label(ref) if ref else str(entry_id)


def _ref_after(ref: dict[str, Any] | None, event: StoredEvent) -> dict[str, Any] | None:
    """The entry's names after a directory event, or None when they did not change."""
    payload = event.payload()
    if event.type in REGISTERED_TYPES:
        if isinstance(payload, dev.ServiceContractRegistered):
            name, number = payload.title, payload.number
        else:
            name, number = payload.name, None  # type: ignore[attr-defined]
        base = {"tenant_id": event.tenant_id, "id": event.stream_id, "kind": event.stream_type}
        return {**base, "name": name, "number": number}
    if ref is None:
        return None
    new = {**ref}
    for field, change in payload.changes.items():  # type: ignore[attr-defined]
        if field in ("name", "title") and change.new is not None:
            new["name"] = change.new
        elif field == "number":
            new["number"] = change.new
    return new if new != ref else None


def _label(ref: dict[str, Any]) -> str:
    if ref["kind"] == "service_contract":
        return contract_label(ref["number"], ref["name"])
    return str(ref["name"])


def _uuid(value: str | None) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError:
        return None
