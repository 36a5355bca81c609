"""What every projection is: the tables it owns, the events it reads, how a batch changes it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar
from uuid import UUID

import asyncpg

from plumbing.eventlog import StoredEvent

from .bulk import Writer

SHADOW = "_shadow"
"""Suffix of the tables a rebuild fills before swapping them in."""

Key = tuple[str, UUID]
"""(tenant_id, id) of a row."""


class Projection(ABC):
    """A read model in schema `read`, built by folding events in commit-safe order.

    An instance writes either the live tables or, with `suffix=SHADOW`, a rebuild's shadow copies.
    `apply` runs inside the caller's transaction, which also advances the checkpoint: it must not
    commit (a rebuild's bulk load excepted, see `bulk`), and the rows it leaves must depend only
    on the events and their order.
    """

    name: ClassVar[str]
    schema: ClassVar[str] = "read"
    """The schema of its tables: `read`, or one of its own (`radius`, read by FreeRADIUS)."""
    tables: ClassVar[tuple[str, ...]]
    handles: ClassVar[frozenset[str]]
    """Event types this projection understands; others are passed over (see the runner)."""
    streams: ClassVar[frozenset[str]] = frozenset()
    """Stream types every event of which this projection sees, whatever its type (a row that
    keeps its stream's version must count events it has no other use for)."""
    append_only: ClassVar[tuple[str, ...]] = ()
    """Tables only ever inserted into: a rebuild adds even their primary keys after loading."""

    def __init__(self, suffix: str = "") -> None:
        self.suffix = suffix
        self.bulk: Writer | None = None
        """Set while a rebuild fills fresh shadow tables that nobody else writes: `apply` may
        then hand its writes to this writer (in the background, by COPY) and keep what it wrote
        in memory for later batches."""

    def table(self, name: str) -> str:
        """Qualified name of one of this projection's tables (live or shadow)."""
        assert name in self.tables, name
        return f"{self.schema}.{name}{self.suffix}"

    def sql(self, template: str) -> str:
        """A SQL template with `{table}` placeholders bound to this instance's tables."""
        return template.format(**{name: self.table(name) for name in self.tables})

    @abstractmethod
    async def apply(self, conn: asyncpg.Connection, events: Sequence[StoredEvent]) -> None:
        """Fold a batch of handled events into the tables, in the caller's transaction."""

    def forget(self) -> None:  # noqa: B027 (an optional hook)
        """Drop what `apply` keeps in memory between batches: a batch was rolled back, or the
        bulk load is over."""


def columns(rows: Iterable[Mapping[str, Any]], names: Sequence[str]) -> list[list[Any]]:
    """Rows turned into one list per column, for `unnest($1::t[], ...)` statements."""
    result: list[list[Any]] = [[] for _ in names]
    for row in rows:
        for column, name in zip(result, names, strict=True):
            column.append(row[name])
    return result


# COPY's text format: backslash, tab, newline and carriage return are escaped, None is \N.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(rows: Iterable[Mapping[str, Any]], names: Sequence[str]) -> bytes:
    """Rows in COPY's text format, for `copy_to_table(..., format="text")`.

    Values are sent as text and parsed by the server (a jsonb column takes JSON text as it
    is), which is much cheaper than encoding arrays element by element for large batches.
    """
    lines = ["\t".join([_copy_value(row[name]) for name in names]) for row in rows]
    lines.append("")
    return "\n".join(lines).encode()


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    text = str(value)
    # Only text can hold the characters COPY reserves; most values need no translation.
    if value.__class__ is str and ("\\" in text or "\t" in text or "\n" in text or "\r" in text):
        return text.translate(_COPY_ESCAPES)
    return text


def keys_arrays(keys: Iterable[Key]) -> tuple[list[str], list[UUID]]:
    """(tenant ids, ids) as two arrays, for `unnest($1::text[], $2::uuid[])` lookups."""
    tenants: list[str] = []
    ids: list[UUID] = []
    for tenant_id, entry_id in keys:
        tenants.append(tenant_id)
        ids.append(entry_id)
    return tenants, ids
