"""Projection `subscriptions`: the list and the summary tab (read.subscriptions).

The names a subscription shows come from read.subscription_refs, which this projection keeps
from the directory events itself, so that its rows depend only on the event order.

A batch is folded in memory into new rows (subscriptions created in the batch) and patches (the
columns later events changed on rows written before), so existing rows are never read back:
new rows go in with one insert, patches with one update per set of changed columns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from io import BytesIO
from typing import Any
from uuid import UUID

import asyncpg

from contracts import directory as dev
from contracts import subscription as sev

from .directory import EDITED_TYPES, REGISTERED_TYPES
from .projection import Key, Projection, columns, copy_text, keys_arrays
from .store import StoredEvent

TYPES = {
    "tenant_id": "text", "id": "uuid", "unique_id": "text", "unique_number": "bigint",
    "name": "text", "status": "text", "description": "text", "notification_level": "text",
    "contact_id": "uuid", "contact_name": "text", "organization_id": "uuid",
    "organization_name": "text", "engineer_id": "uuid", "engineer_name": "text",
    "service_contract_id": "uuid", "service_contract_number": "text",
    "service_contract_title": "text", "version": "int", "created_at": "timestamptz",
    "updated_at": "timestamptz",
}  # fmt: skip
COLUMNS = tuple(TYPES)
REF_COLUMNS = ("tenant_id", "id", "kind", "name", "number", "title")
# Each reference and the columns showing its names, with the ref field each one copies.
SHOWN = {
    "contact_id": {"contact_name": "name"},
    "organization_id": {"organization_name": "name"},
    "engineer_id": {"engineer_name": "name"},
    "service_contract_id": {"service_contract_number": "number", "service_contract_title": "title"},
}
EDITABLE = ("name", "description", *SHOWN)
UNIQUE_NUMBER = re.compile(r"^SUB-(\d{1,18})$")
BUFFER_ROWS = 250_000  # new rows a buffered rebuild holds in memory before writing them
CREATED = sev.SubscriptionCreated.model_fields["type"].default
EDITED = sev.SubscriptionEdited.model_fields["type"].default
STATUS_CHANGED = sev.SubscriptionStatusChanged.model_fields["type"].default
ENGINEER_ASSIGNED = sev.SubscriptionEngineerAssigned.model_fields["type"].default

LOAD_REFS = """
select * from {subscription_refs}
where (tenant_id, id) in (select * from unnest($1::text[], $2::uuid[]))
"""
UPSERT_REFS = """
insert into {subscription_refs} (tenant_id, id, kind, name, number, title)
select * from unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[])
on conflict (tenant_id, id) do update set
    kind = excluded.kind, name = excluded.name, number = excluded.number, title = excluded.title
"""
INSERT = f"""
insert into {{subscriptions}} ({", ".join(COLUMNS)})
select * from unnest({", ".join(f"${i}::{t}[]" for i, t in enumerate(TYPES.values(), 1))})
"""
# Filled with the columns one group of patches changes: `{assignments}`, `{arrays}`, `{names}`.
PATCH = """
update {subscriptions} s set {assignments}
from unnest({arrays}) as x({names})
where s.tenant_id = x.tenant_id and s.id = x.id
"""
# A renamed entry reaches every subscription showing it, also those outside the batch.
RENAME = {
    kind: f"""
update {{subscriptions}} s set {assignments}
from unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[])
    as r(tenant_id, id, name, number, title)
where s.tenant_id = r.tenant_id and s.{kind}_id = r.id
"""
    for kind, assignments in (
        ("contact", "contact_name = r.name"),
        ("organization", "organization_name = r.name"),
        ("engineer", "engineer_name = r.name"),
        (
            "service_contract",
            "service_contract_number = r.number, service_contract_title = r.title",
        ),
    )
}

Row = dict[str, Any]


def unique_number(unique_id: str) -> int:
    """The number in `SUB-<n>`, for sorting; 0 for any other form."""
    match = UNIQUE_NUMBER.match(unique_id)
    return int(match.group(1)) if match else 0


class SubscriptionsProjection(Projection):
    name = "subscriptions"
    tables = ("subscriptions", "subscription_refs")
    handles = (
        REGISTERED_TYPES
        | EDITED_TYPES
        | {
            m.model_fields["type"].default
            for m in (
                sev.SubscriptionCreated,
                sev.SubscriptionEdited,
                sev.SubscriptionStatusChanged,
                sev.SubscriptionEngineerAssigned,
            )
        }
    )

    def __init__(self, suffix: str = "") -> None:
        super().__init__(suffix)
        self._buffer: dict[Key, Row] = {}

    async def apply(self, conn: asyncpg.Connection, events: Sequence[StoredEvent]) -> None:
        """Fold refs, new rows and patches in memory, then write them in a few statements."""
        # Entries edited in the batch are folded from their stored names; the names the rows
        # show are set after the fold, from the refs as the batch leaves them.
        refs = await self._load_refs(
            conn, {(e.tenant_id, e.stream_id) for e in events if e.type in EDITED_TYPES}
        )
        # Buffered (a rebuild's bulk load), new rows stay in memory across batches, later events
        # fold into them there, and they are written once by `flush`.
        created: dict[Key, Row] = self._buffer if self.buffered else {}
        patches: dict[Key, Row] = {}
        changed_refs: dict[Key, Row] = {}
        renamed: dict[Key, Row] = {}
        for event in events:
            key = (event.tenant_id, event.stream_id)
            if event.type == CREATED:
                created[key] = _created(event)
            elif event.stream_type == "subscription":
                _patch(created.get(key) or patches.setdefault(key, {}), event)
            elif event.type in REGISTERED_TYPES:
                changed_refs[key] = refs[key] = _ref(event)
            elif key in refs:  # an edit of an entry this projection has seen registered
                ref = _edited_ref(refs[key], event)
                if ref != refs[key]:
                    changed_refs[key] = renamed[key] = refs[key] = ref
        new_rows = {} if self.buffered else created
        shown = [(key, row) for key, row in (*new_rows.items(), *patches.items())]
        await self._show_names(conn, shown, refs)
        await self._write(conn, changed_refs, new_rows, patches, renamed)
        if self.buffered and len(self._buffer) >= BUFFER_ROWS:
            await self.flush(conn)

    async def flush(self, conn: asyncpg.Connection) -> None:
        """Write the buffered new rows with the names their entries have now, by COPY."""
        if not self._buffer:
            return
        await self._show_names(conn, list(self._buffer.items()), {})
        table = self.table("subscriptions").removeprefix("read.")
        await conn.copy_to_table(
            table,
            schema_name="read",
            columns=COLUMNS,
            source=BytesIO(copy_text(self._buffer.values(), COLUMNS)),
            format="text",
        )
        self._buffer = {}

    async def _show_names(
        self, conn: asyncpg.Connection, shown: list[tuple[Key, Row]], refs: dict[Key, Row]
    ) -> None:
        """Copy into rows (or patches) the names of the entries they point at."""
        wanted = {(k[0], row[f]) for k, row in shown for f in SHOWN if row.get(f) is not None}
        refs |= await self._load_refs(conn, wanted - refs.keys())
        for (tenant_id, _), row in shown:
            _show_names(tenant_id, row, refs)

    async def _load_refs(self, conn: asyncpg.Connection, keys: set[Key]) -> dict[Key, Row]:
        if not keys:
            return {}
        found = await conn.fetch(self.sql(LOAD_REFS), *keys_arrays(keys))
        return {(r["tenant_id"], r["id"]): dict(r) for r in found}

    async def _write(
        self,
        conn: asyncpg.Connection,
        changed_refs: dict[Key, Row],
        created: dict[Key, Row],
        patches: dict[Key, Row],
        renamed: dict[Key, Row],
    ) -> None:
        if changed_refs:
            await conn.execute(self.sql(UPSERT_REFS), *columns(changed_refs.values(), REF_COLUMNS))
        if created:
            await conn.execute(self.sql(INSERT), *columns(created.values(), COLUMNS))
        groups: dict[tuple[str, ...], list[Row]] = {}
        for (tenant_id, sid), patch in patches.items():
            groups.setdefault(tuple(sorted(patch)), []).append(
                {**patch, "tenant_id": tenant_id, "id": sid}
            )
        for changed, rows in groups.items():
            names = ("tenant_id", "id", *changed)
            await conn.execute(self._patch_sql(changed), *columns(rows, names))
        for kind, template in RENAME.items():
            of_kind = [ref for ref in renamed.values() if ref["kind"] == kind]
            if of_kind:
                names = ("tenant_id", "id", "name", "number", "title")
                await conn.execute(self.sql(template), *columns(of_kind, names))

    def _patch_sql(self, changed: Iterable[str]) -> str:
        names = ("tenant_id", "id", *changed)
        return PATCH.format(
            subscriptions=self.table("subscriptions"),
            assignments=", ".join(f"{c} = x.{c}" for c in changed),
            arrays=", ".join(f"${i}::{TYPES[c]}[]" for i, c in enumerate(names, 1)),
            names=", ".join(names),
        )


def _created(event: StoredEvent) -> Row:
    payload = event.payload()
    assert isinstance(payload, sev.SubscriptionCreated)
    row: Row = dict.fromkeys(COLUMNS)
    row.update(payload.model_dump(include=set(COLUMNS)))
    row.update(
        tenant_id=event.tenant_id,
        id=event.stream_id,
        status=str(payload.status),
        unique_number=unique_number(payload.unique_id),
        version=event.version,
        created_at=event.occurred_at,
        updated_at=event.occurred_at,
    )
    return row


def _patch(row: Row, event: StoredEvent) -> None:
    """Fold a later subscription event into a new row or into the patch of an existing one."""
    payload: Any = event.payload()
    # Dispatch on the type name: a `match` on pydantic classes pays an ABC check per case.
    if event.type == STATUS_CHANGED:
        row["status"] = str(payload.to_status)
    elif event.type == ENGINEER_ASSIGNED:
        row["engineer_id"] = payload.to_engineer_id
    elif event.type == EDITED:
        for field, change in payload.changes.items():
            if field in EDITABLE:
                row[field] = _uuid(change.new) if field in SHOWN else change.new
    row["version"] = event.version
    row["updated_at"] = event.occurred_at


def _show_names(tenant_id: str, row: Row, refs: dict[Key, Row]) -> None:
    """Copy the names of the entries a row (or patch) points at into it."""
    for field, shown in SHOWN.items():
        if field in row:
            ref = refs.get((tenant_id, row[field])) or {}
            for column, source in shown.items():
                row[column] = ref.get(source)


def _ref(event: StoredEvent) -> Row:
    payload = event.payload()
    number = title = None
    if isinstance(payload, dev.ServiceContractRegistered):
        name, number, title = payload.title, payload.number, payload.title
    else:
        name = payload.name  # type: ignore[attr-defined]
    return {
        "tenant_id": event.tenant_id,
        "id": event.stream_id,
        "kind": event.stream_type,
        "name": name,
        "number": number,
        "title": title,
    }


def _edited_ref(ref: Row, event: StoredEvent) -> Row:
    new = {**ref}
    for field, change in event.payload().changes.items():  # type: ignore[attr-defined]
        if field in ("name", "number", "title"):
            new[field] = change.new
    if new["kind"] == "service_contract":
        new["name"] = new["title"]
    return new


def _uuid(value: str | None) -> UUID | None:
    return None if value is None else UUID(value)
