"""Projection `subscriptions`: the list and the summary tab (read.subscriptions).

The names a subscription shows come from read.subscription_refs, which this projection keeps
from the directory events itself, so that its rows depend only on the event order.

A batch is folded in memory into new rows (subscriptions created in the batch) and patches (the
columns later events changed on rows written before), so existing rows are never read back:
new rows go in with one insert (by binary COPY in a rebuild's bulk load), patches with one update
per set of changed columns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any
from uuid import UUID

import asyncpg

from contracts import directory as dev
from contracts import subscription as sev
from plumbing.eventlog import StoredEvent

from .created import created_columns
from .directory import EDITED_TYPES, REGISTERED_TYPES
from .projection import Key, Projection, columns, keys_arrays

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
SHOWN_PAIRS = tuple((field, tuple(shown.items())) for field, shown in SHOWN.items())
EDITABLE = ("name", "description", *SHOWN)
UNIQUE_NUMBER = re.compile(r"^SUB-(\d{1,18})$")
VALUES = itemgetter(*COLUMNS)  # a row's values in COLUMNS order, for COPY
# Refs a bulk load keeps in memory at most: every directory entry of most deployments.
KNOWN_REFS = 200_000
CREATED = sev.SubscriptionCreated.model_fields["type"].default
EDITED = sev.SubscriptionEdited.model_fields["type"].default
STATUS_CHANGED = sev.SubscriptionStatusChanged.model_fields["type"].default
REOPENED = sev.SubscriptionReopened.model_fields["type"].default
ENGINEER_ASSIGNED = sev.SubscriptionEngineerAssigned.model_fields["type"].default
# The events of a subscription stream that change a column besides the version.
COLUMN_CHANGES = frozenset({EDITED, STATUS_CHANGED, REOPENED, ENGINEER_ASSIGNED})

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
NO_REF: Row = {}  # what an entry not (yet) registered shows


def unique_number(unique_id: str) -> int:
    """The number in `SUB-<n>`, for sorting; 0 for any other form."""
    digits = unique_id[4:]
    if unique_id[:4] == "SUB-" and 0 < len(digits) <= 18 and digits.isdecimal():
        return int(digits)  # what the pattern matches, found without it (a rebuild's million)
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
                sev.SubscriptionReopened,
                sev.SubscriptionEngineerAssigned,
            )
        }
    )

    # A service, device, payment (...) is an event of the subscription's stream: the row's
    # version (the summary's ETag, the History count) and updated_at follow it too.
    streams = frozenset({"subscription"})

    def __init__(self, suffix: str = "") -> None:
        super().__init__(suffix)
        # During a bulk load, every ref written or read so far: only this instance writes the
        # shadow tables, so the copy stays true until a batch is rolled back (`forget`).
        self._known: dict[Key, Row] = {}

    async def apply(self, conn: asyncpg.Connection, events: Sequence[StoredEvent]) -> None:
        """Fold refs, new rows and patches in memory, then write them in a few statements."""
        if self.bulk is None or len(self._known) > KNOWN_REFS:
            self._known = {}
        refs = self._known
        # Entries edited in the batch are folded from their stored names; the names the rows
        # show are set after the fold, from the refs as the batch leaves them.
        await self._add_refs(
            conn, refs, {(e.tenant_id, e.stream_id) for e in events if e.type in EDITED_TYPES}
        )
        created: dict[Key, Row] = {}
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
        await self._show_names(conn, [*created.items(), *patches.items()], refs)
        if self.bulk is None:
            await self._write(conn, changed_refs, created, patches, renamed)
        else:  # the database stores this batch while the runner reads and folds the next
            writes = (changed_refs, created, patches, renamed)
            await self.bulk.submit(lambda c: self._write(c, *writes, copy=True))

    def forget(self) -> None:
        """Drop the refs kept in memory: the batch that changed them was rolled back."""
        self._known = {}

    async def _show_names(
        self, conn: asyncpg.Connection, shown: list[tuple[Key, Row]], refs: dict[Key, Row]
    ) -> None:
        """Copy into rows (or patches) the names of the entries they point at."""
        unknown = [(key, row) for key, row in shown if not _show_names(key[0], row, refs)]
        if unknown:
            wanted = {(k[0], row[f]) for k, row in unknown for f in SHOWN if row.get(f) is not None}
            await self._add_refs(conn, refs, wanted)
            for (tenant_id, _), row in unknown:
                _show_names(tenant_id, row, refs)

    async def _add_refs(
        self, conn: asyncpg.Connection, refs: dict[Key, Row], keys: set[Key]
    ) -> None:
        """Read into `refs` those of `keys` it lacks."""
        missing = keys - refs.keys()
        if missing:
            if self.bulk is not None:
                await self.bulk.wait()  # what earlier batches of the bulk load wrote
            found = await conn.fetch(self.sql(LOAD_REFS), *keys_arrays(missing))
            refs.update(((r["tenant_id"], r["id"]), dict(r)) for r in found)

    async def _write(
        self,
        conn: asyncpg.Connection,
        changed_refs: dict[Key, Row],
        created: dict[Key, Row],
        patches: dict[Key, Row],
        renamed: dict[Key, Row],
        *,
        copy: bool = False,
    ) -> None:
        if changed_refs:
            await conn.execute(self.sql(UPSERT_REFS), *columns(changed_refs.values(), REF_COLUMNS))
        if created and copy:
            # Thousands of rows a batch: binary COPY is the cheapest way in, for both sides.
            await conn.copy_records_to_table(
                self.table("subscriptions").removeprefix("read."),
                schema_name="read",
                columns=COLUMNS,
                records=map(VALUES, created.values()),
            )
        elif created:
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
    """A new row; the names it shows are filled in once the batch is folded."""
    payload = created_columns(event)
    return {
        "tenant_id": event.tenant_id,
        "id": event.stream_id,
        **payload,
        "unique_number": unique_number(payload["unique_id"]),
        "contact_name": None,
        "organization_name": None,
        "engineer_name": None,
        "service_contract_number": None,
        "service_contract_title": None,
        "version": event.version,
        "created_at": event.occurred_at,
        "updated_at": event.occurred_at,
    }


def _patch(row: Row, event: StoredEvent) -> None:
    """Fold a later event of a subscription's stream into a new row or into the patch of an
    existing one: its version and time always, its payload when it changes a column."""
    # Dispatch on the type name: a `match` on pydantic classes pays an ABC check per case.
    kind = event.type
    if kind in COLUMN_CHANGES:
        payload: Any = event.payload()
        if kind == EDITED:
            for field, change in payload.changes.items():
                if field in EDITABLE:
                    row[field] = _uuid(change.new) if field in SHOWN else change.new
        elif kind == ENGINEER_ASSIGNED:
            row["engineer_id"] = payload.to_engineer_id
        else:
            row["status"] = str(payload.to_status)
    row["version"] = event.version
    row["updated_at"] = event.occurred_at


def _show_names(tenant_id: str, row: Row, refs: dict[Key, Row]) -> bool:
    """Copy the names of the entries a row (or patch) points at into it; False when one of
    those entries is not in `refs`."""
    found = True
    for field, shown in SHOWN_PAIRS:
        if field in row:
            ref = refs.get((tenant_id, row[field]))
            if ref is None:
                found = found and row[field] is None
                ref = NO_REF
            for column, source in shown:
                row[column] = ref.get(source)
    return found


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
