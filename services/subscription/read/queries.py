"""What every query over the read models (schema `read`, built by services/projections) shares:
pages, sort orders and opaque cursors. Read-your-writes waits are freshness.py's.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID


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
