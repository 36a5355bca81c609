"""Queries over the read models (schema `read`, built by services/projections).

Read-your-writes: a query given `min_position` first waits until the projection it reads has
applied every event at or below that position (see `wait_for`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from plumbing.eventlog import reached


class NotYetVisible(Exception):
    """The read model has not reached the asked position within the wait bound."""


async def wait_for(
    pool: asyncpg.Pool, projection: str, min_position: int | None, wait_seconds: float
) -> None:
    """Return once `projection` has applied every event up to `min_position`."""
    if not min_position:
        return
    deadline = time.monotonic() + wait_seconds
    delay = 0.002
    while not await reached(pool, projection, min_position):
        if time.monotonic() >= deadline:
            raise NotYetVisible(f"the {projection} read model has not reached {min_position} yet")
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.05)


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True)
class Sort:
    """A sort order over a column with a unique tie-breaker (`id`) for keyset paging."""

    column: str
    descending: bool

    @property
    def order_by(self) -> str:
        direction = "desc" if self.descending else "asc"
        return f"{self.column} {direction}, id {direction}"

    def after(self, placeholder_value: int, placeholder_id: int) -> str:
        op = "<" if self.descending else ">"
        return f"({self.column}, id) {op} (${placeholder_value}, ${placeholder_id})"


def parse_sort(raw: str | None, allowed: dict[str, str], default: str) -> Sort:
    """`field` or `-field` among the allowed names; ValueError otherwise."""
    raw = raw or default
    descending = raw.startswith("-")
    name = raw.lstrip("-")
    if name not in allowed:
        raise ValueError(f"sort by one of {', '.join(sorted(allowed))} (prefix - for descending)")
    return Sort(allowed[name], descending)


def encode_cursor(value: Any, row_id: UUID) -> str:
    """An opaque cursor standing after one row."""
    raw = json.dumps([value if not hasattr(value, "isoformat") else value.isoformat(), str(row_id)])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Any, UUID]:
    """The (sort value, id) a cursor stands after; ValueError when it is not ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return value, UUID(row_id)
    except Exception as exc:
        raise ValueError("cursor is not one this API gave out") from exc


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with LIKE's wildcards escaped."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
