"""What an imported row's cells name: the tenant's directory entries, resolved from their text.

A contact, organization or engineer is named by ID, email or exact name, a service contract by
ID, number or exact title; only active entries resolve, and a problem names its spreadsheet
column as the importer's own messages do. The directory is read from its read model
(`read.directory`, through read/directory.py) once the model has caught up with the event log as
it stood when the import's first batch arrived, so entries registered just before the upload are
found. It is then kept for the import's later batches (a file names the same few entries on many
rows), for a short while: a batch sent again resolves as it did the first time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from uuid import UUID

import asyncpg

from contracts.imports import CommandBatch, RowError, RowReferences, RowResult
from contracts.spreadsheet import CONTACT, ENGINEER, ORGANIZATION, SERVICE_CONTRACT
from plumbing import eventlog
from services.subscription.read import directory as directory_queries
from services.subscription.write.batch_rows import Resolved, failed_result

log = logging.getLogger(__name__)

PROJECTION = "directory"
# Imports whose directory a process keeps, and for how long before it reads it again.
KEEP_IMPORTS = 8
KEEP_SECONDS = 60.0

# Each reference: its field of RowReferences, the command's field, its column, its kind.
REFERENCES = (
    ("contact", "contact_id", CONTACT, "contact"),
    ("organization", "organization_id", ORGANIZATION, "organization"),
    ("engineer", "engineer_id", ENGINEER, "engineer"),
    ("service_contract", "service_contract_id", SERVICE_CONTRACT, "service_contract"),
)
_NOUNS = {
    "contact": ("contact", "contacts"),
    "organization": ("organization", "organizations"),
    "engineer": ("engineer", "engineers"),
    "service_contract": ("service contract", "service contracts"),
}


class Unresolved(Exception):
    """A reference that names no active entry, or more than one."""


@dataclass(frozen=True)
class Entry:
    id: UUID
    active: bool


@dataclass
class _Index:
    by_id: dict[UUID, Entry] = field(default_factory=dict)
    by_key: dict[str, list[Entry]] = field(default_factory=lambda: defaultdict(list))


class Directory:
    """Contacts, organizations, engineers and service contracts of one tenant."""

    def __init__(self, rows: list[asyncpg.Record] | list[dict[str, object]]) -> None:
        self._kinds: dict[str, _Index] = defaultdict(_Index)
        # A file names the same few entries on many rows: each text is resolved once.
        self._resolved: dict[tuple[str, str], UUID | Unresolved] = {}
        for row in rows:
            index = self._kinds[str(row["kind"])]
            entry = Entry(row["id"], bool(row["active"]))  # type: ignore[arg-type]
            index.by_id[entry.id] = entry
            for key in _keys(str(row["kind"]), row):
                index.by_key[key].append(entry)

    def resolve(self, kind: str, column: str, text: str) -> UUID:
        """The id of the one active entry the text names; Unresolved says what is wrong."""
        resolved = self._resolved.get((kind, text))
        if resolved is None:
            try:
                resolved = self._resolve(kind, column, text)
            except Unresolved as exc:
                resolved = exc
            self._resolved[kind, text] = resolved
        if isinstance(resolved, Unresolved):
            raise Unresolved(str(resolved))
        return resolved

    def _resolve(self, kind: str, column: str, text: str) -> UUID:
        index = self._kinds[kind]
        one, many = _NOUNS[kind]
        as_id = _uuid(text)
        entry = index.by_id.get(as_id) if as_id else None
        found = [entry] if entry else index.by_key.get(_fold(text), [])
        active = [e for e in found if e.active]
        if len(active) == 1:
            return active[0].id
        ways = "number or exact title" if kind == "service_contract" else "email or exact name"
        if active:
            raise Unresolved(
                f"{column} {text!r} matches {len(active)} {many}: use the ID or the {ways}"
                f" of one of them"
            )
        if found:
            raise Unresolved(f"{column} {text!r} is a deactivated {one}")
        raise Unresolved(f"{column} {text!r} matches no {one} by ID, {ways}")

    def resolve_row(self, row: int, references: RowReferences | None) -> Resolved:
        """The ids a row's texts name, or every problem, each naming its column."""
        if references is None:
            return Resolved()
        ids: dict[str, UUID] = {}
        errors: list[RowError] = []
        for name, id_field, column, kind in REFERENCES:
            text = getattr(references, name)
            if text is None:
                continue
            try:
                ids[id_field] = self.resolve(kind, column, text)
            except Unresolved as exc:
                errors.append(RowError(row=row, column=column, message=str(exc)))
        return Resolved(ids, errors)


class References:
    """Resolves the references of import batches, keeping each import's directory a while."""

    def __init__(self, pool: asyncpg.Pool, wait_seconds: float) -> None:
        self._pool = pool
        self._wait_seconds = wait_seconds
        self._kept: OrderedDict[tuple[str, UUID], tuple[float, asyncio.Task[Directory]]] = (
            OrderedDict()
        )

    async def resolve(self, batch: CommandBatch) -> tuple[list[Resolved], list[RowResult]]:
        """Per row of the batch what its texts name; the checked rows that have problems."""
        named = any(r.references for r in batch.rows) or batch.checks
        if not named:
            return [Resolved() for _ in batch.rows], []
        directory = await self._directory(batch.tenant_id, batch.import_id)
        rows = [directory.resolve_row(r.row, r.references) for r in batch.rows]
        checks = [(c.row, directory.resolve_row(c.row, c.references)) for c in batch.checks]
        return rows, [failed_result(row, r.errors) for row, r in checks if r.errors]

    async def _directory(self, tenant_id: str, import_id: UUID) -> Directory:
        key = (tenant_id, import_id)
        kept = self._kept.get(key)
        now = time.monotonic()
        if kept is None or now - kept[0] > KEEP_SECONDS or _failed(kept[1]):
            # Only an import's first reading waits: a later one reads a model at least as new.
            wait = kept is None
            kept = (now, asyncio.ensure_future(self._load(tenant_id, wait)))
            self._kept[key] = kept
        self._kept.move_to_end(key)
        while len(self._kept) > KEEP_IMPORTS:
            self._kept.popitem(last=False)
        # Shielded: batches of one import share the reading, and one cancelled must not end it.
        return await asyncio.shield(kept[1])

    async def _load(self, tenant_id: str, wait: bool) -> Directory:
        if wait:
            head = await eventlog.head(self._pool)
            if not await eventlog.wait_until_reached(
                self._pool, PROJECTION, head, self._wait_seconds
            ):
                log.warning(
                    "directory not caught up, resolving with what it holds",
                    extra={"tenant_id": tenant_id, "position": head},
                )
        return Directory(await directory_queries.referable_entries(self._pool, tenant_id))


def _failed(task: asyncio.Task[Directory]) -> bool:
    return task.done() and (task.cancelled() or task.exception() is not None)


def _keys(kind: str, row: Mapping[str, object] | asyncpg.Record) -> set[str]:
    """What a row may name an entry by besides its ID: a name and an email, or a service
    contract's title and number."""
    other = row["number"] if kind == "service_contract" else row["email"]
    return {_fold(value) for value in (row["name"], other) if value} - {""}


def _fold(text: object) -> str:
    """Text as compared: emails without case (text holding `@` is taken as one), names exactly."""
    value = str(text).strip()
    return value.casefold() if "@" in value else value


def _uuid(text: str) -> UUID | None:
    try:
        return UUID(text.strip())
    except ValueError:
        return None
