"""The tenant's directory, to resolve what a row names: by ID, email or exact name.

Read from the read model (`read.directory`, built by the projections) once per job, after it has
caught up with the event store as it stood when the job started, so contacts registered just
before the upload are found. Only active entries resolve; a deactivated one is named as such.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from uuid import UUID

import asyncpg

from contracts.spreadsheet import CONTACT, ENGINEER, ORGANIZATION, SERVICE_CONTRACT

from .visibility import wait_until_reached

ENTRIES = """
select id, kind, name, number, email, active from read.directory where tenant_id = $1
"""
PROJECTION = "directory"
HEAD = "select coalesce(max(position), 0) from events.events"

KINDS = {
    CONTACT: "contact",
    ORGANIZATION: "organization",
    ENGINEER: "engineer",
    SERVICE_CONTRACT: "service_contract",
}
_NOUNS = {
    "contact": ("contact", "contacts"),
    "organization": ("organization", "organizations"),
    "engineer": ("engineer", "engineers"),
    "service_contract": ("service contract", "service contracts"),
}


@dataclass(frozen=True)
class Entry:
    id: UUID
    active: bool


@dataclass
class _Index:
    by_id: dict[UUID, Entry] = field(default_factory=dict)
    by_key: dict[str, list[Entry]] = field(default_factory=lambda: defaultdict(list))


class Unresolved(Exception):
    """A reference that names no active entry, or more than one."""


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

    def resolve(self, column: str, text: str) -> UUID:
        """The id of the one active entry the text names; Unresolved says what is wrong."""
        resolved = self._resolved.get((column, text))
        if resolved is None:
            try:
                resolved = self._resolve(column, text)
            except Unresolved as exc:
                resolved = exc
            self._resolved[column, text] = resolved
        if isinstance(resolved, Unresolved):
            raise Unresolved(str(resolved))
        return resolved

    def _resolve(self, column: str, text: str) -> UUID:
        kind = KINDS[column]
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


async def load(pool: asyncpg.Pool, tenant_id: str, wait_seconds: float) -> Directory:
    """The tenant's directory, once the read model holds what was stored before this call."""
    head = await pool.fetchval(HEAD)
    await wait_until_reached(pool, PROJECTION, head, wait_seconds)
    return Directory(await pool.fetch(ENTRIES, tenant_id))


def _keys(kind: str, row: asyncpg.Record | dict[str, object]) -> set[str]:
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
