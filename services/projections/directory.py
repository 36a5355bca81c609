"""Projection `directory`: contacts, organizations, engineers, service contracts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import asyncpg

from contracts import directory as ev
from contracts.base import FieldChange
from plumbing.eventlog import StoredEvent

from .projection import Key, Projection, columns, keys_arrays

COLUMNS = (
    "tenant_id", "id", "kind", "name", "number", "title", "email", "phone", "address",
    "starts_on", "ends_on", "terms", "active", "version", "created_at", "updated_at",
)  # fmt: skip
FIELDS = ("name", "number", "title", "email", "phone", "address", "starts_on", "ends_on", "terms")
DATES = ("starts_on", "ends_on")

LOAD = """
select * from {directory}
where (tenant_id, id) in (select * from unnest($1::text[], $2::uuid[]))
"""

UPSERT = """
insert into {directory} (tenant_id, id, kind, name, number, title, email, phone, address,
                         starts_on, ends_on, terms, active, version, created_at, updated_at)
select * from unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::text[], $8::text[], $9::text[], $10::date[], $11::date[], $12::text[],
                     $13::bool[], $14::int[], $15::timestamptz[], $16::timestamptz[])
on conflict (tenant_id, id) do update set
    kind = excluded.kind, name = excluded.name, number = excluded.number,
    title = excluded.title, email = excluded.email, phone = excluded.phone,
    address = excluded.address, starts_on = excluded.starts_on, ends_on = excluded.ends_on,
    terms = excluded.terms, active = excluded.active, version = excluded.version,
    created_at = excluded.created_at, updated_at = excluded.updated_at
"""

REGISTERED = (
    ev.ContactRegistered,
    ev.OrganizationRegistered,
    ev.EngineerRegistered,
    ev.ServiceContractRegistered,
)
EDITED = (ev.ContactEdited, ev.OrganizationEdited, ev.EngineerEdited, ev.ServiceContractEdited)
DEACTIVATED = (
    ev.ContactDeactivated,
    ev.OrganizationDeactivated,
    ev.EngineerDeactivated,
    ev.ServiceContractDeactivated,
)
REACTIVATED = (
    ev.ContactReactivated,
    ev.OrganizationReactivated,
    ev.EngineerReactivated,
    ev.ServiceContractReactivated,
)

REGISTERED_TYPES = frozenset(m.model_fields["type"].default for m in REGISTERED)
EDITED_TYPES = frozenset(m.model_fields["type"].default for m in EDITED)
DEACTIVATED_TYPES = frozenset(m.model_fields["type"].default for m in DEACTIVATED)
REACTIVATED_TYPES = frozenset(m.model_fields["type"].default for m in REACTIVATED)


def display_name(kind: str, row: dict[str, Any]) -> str:
    """What a list shows for an entry: its name, or a service contract's title."""
    return str(row["title"] if kind == "service_contract" else row["name"])


class DirectoryProjection(Projection):
    name = "directory"
    tables = ("directory",)
    handles = REGISTERED_TYPES | EDITED_TYPES | DEACTIVATED_TYPES | REACTIVATED_TYPES

    async def apply(self, conn: asyncpg.Connection, events: Sequence[StoredEvent]) -> None:
        """Fold the batch into one row per entry touched, then upsert those rows at once."""
        known = {(e.tenant_id, e.stream_id) for e in events if e.version > 1}
        rows = {(r["tenant_id"], r["id"]): dict(r) for r in await self._load(conn, known)}
        for event in events:
            _fold(rows, event)
        if rows:
            await conn.execute(self.sql(UPSERT), *columns(rows.values(), COLUMNS))

    async def _load(self, conn: asyncpg.Connection, keys: set[Key]) -> list[asyncpg.Record]:
        if not keys:
            return []
        return await conn.fetch(self.sql(LOAD), *keys_arrays(keys))


def _fold(rows: dict[Key, dict[str, Any]], event: StoredEvent) -> None:
    key = (event.tenant_id, event.stream_id)
    payload = event.payload()
    if event.type in REGISTERED_TYPES:
        row: dict[str, Any] = dict.fromkeys(COLUMNS)
        row.update(payload.model_dump(exclude={"type"}))
        row.update(
            tenant_id=event.tenant_id,
            id=event.stream_id,
            kind=event.stream_type,
            active=True,
            created_at=event.occurred_at,
        )
        rows[key] = row
    else:
        row = rows[key]  # an edit or (de)activation of an entry never registered fails here
        if isinstance(payload, EDITED):
            for field, change in payload.changes.items():
                if field in FIELDS:
                    row[field] = _value(field, change)
        elif isinstance(payload, DEACTIVATED):
            row["active"] = False
        elif isinstance(payload, REACTIVATED):
            row["active"] = True
    row["name"] = display_name(row["kind"], row)
    row["version"] = event.version
    row["updated_at"] = event.occurred_at


def _value(field: str, change: FieldChange) -> Any:
    if field in DATES and change.new is not None:
        return date.fromisoformat(change.new)
    return change.new
