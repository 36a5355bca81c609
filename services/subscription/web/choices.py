"""The options of the pages' selects, read from the directory (the same query as the API's).

A select suits a few hundred entries (the list's engineer filter); the subscription forms' directory
fields are pickers that search as you type (pickers.py).
"""

from __future__ import annotations

from typing import NamedTuple

import asyncpg

from services.subscription.read import directory as directory_queries
from services.subscription.read.queries import parse_sort

# A select is the right control up to a few hundred entries; the directory's page limit.
MAX_OPTIONS = 500


class Option(NamedTuple):
    """A select's option: (value, label), as the form macro takes it."""

    value: str
    label: str


async def options(
    pool: asyncpg.Pool, tenant_id: str, kind: str, *, active_only: bool = True
) -> list[Option]:
    """Entries of one kind by name; a deactivated one cannot be newly referenced, so left out."""
    order = parse_sort("name", directory_queries.SORTS, directory_queries.DEFAULT_SORT)
    page = await directory_queries.list_entries(
        pool, tenant_id, kind, None, True if active_only else None, order, None, MAX_OPTIONS
    )
    return [Option(str(entry["id"]), _label(kind, entry)) for entry in page.items]


def _label(kind: str, entry: dict[str, object]) -> str:
    if kind == "service_contract":
        return f"{entry['number']} — {entry['title']}"
    return str(entry["name"])
