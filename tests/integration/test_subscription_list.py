"""The subscription list's query shapes answer exactly what the filters, sort and cursor ask.

Rows go straight into the read model of a tenant of their own; every page sequence is compared
with the same selection made in Python. A text search is run with a walk shorter than the list
(so it falls back to the trigram index) and with one longer than the list.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.subscription.read import subscriptions as views
from services.subscription.read.list_sql import EQUALS
from services.subscription.read.queries import parse_sort
from tests.conftest import tenant

STATUSES = ("Active", "Inactive", "Suspended", "Cancelled", "Completed")
INSERT = """
insert into read.subscriptions (tenant_id, id, unique_id, unique_number, name, status,
    contact_id, contact_name, organization_id, organization_name, engineer_id, engineer_name,
    version, created_at, updated_at)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $14)
"""
ENGINEERS = (uuid.uuid4(), uuid.uuid4())
ORGANIZATION = uuid.uuid4()
CONTACT = uuid.uuid4()


def rows(tenant_id: str) -> list[dict[str, Any]]:
    """60 subscriptions: plans alternate, the rare contact's six are bunched in the middle."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    made = []
    for n in range(1, 61):
        rare = 30 <= n < 36
        made.append(
            {
                "tenant_id": tenant_id,
                "id": uuid.uuid4(),
                "unique_id": f"SUB-{n:07d}",
                "unique_number": n,
                "name": f"{('fibre', 'wireless')[n % 2]}{(n * 37) % 61:03d}",
                "status": STATUSES[n % 4 if n % 9 else 4],
                "contact_id": CONTACT if rare else uuid.uuid4(),
                "contact_name": "Zed Rarename" if rare else f"Contact {n}",
                "organization_id": ORGANIZATION if n % 3 == 0 else None,
                "organization_name": "Acme Farms" if n % 3 == 0 else None,
                "engineer_id": ENGINEERS[n % 2],
                "engineer_name": "Alice Ng",
                "created_at": start + timedelta(hours=n // 2),  # ties: the id decides
                "updated_at": start + timedelta(days=(n * 7) % 60),
            }
        )
    return made


def expected(made: list[dict[str, Any]], filters: dict[str, Any], sort: str) -> list[uuid.UUID]:
    """The same selection and order, computed in Python."""
    order = parse_sort(sort, views.SORTS, views.DEFAULT_SORT)

    def keep(row: dict[str, Any]) -> bool:
        text = " ".join(
            [row["name"], row["unique_id"], row["contact_name"], row["organization_name"] or ""]
        ).lower()
        return (
            (not filters.get("status") or row["status"] in filters["status"])
            and all(row[f] == filters[f] for f in EQUALS if filters.get(f))
            and (not filters.get("q") or filters["q"].lower() in text)
        )

    chosen = sorted(
        (r for r in made if keep(r)),
        key=lambda r: (r[order.column], r["id"]),
        reverse=order.descending,
    )
    return [r["id"] for r in chosen]


async def every_page(
    pool: asyncpg.Pool, tenant_id: str, filters: dict[str, Any], sort: str, walk: int
) -> list[uuid.UUID]:
    """Every page of the list, four rows at a time, following next_cursor."""
    order = parse_sort(sort, views.SORTS, views.DEFAULT_SORT)
    ids: list[uuid.UUID] = []
    cursor = None
    while True:
        page = await views.list_subscriptions(pool, tenant_id, filters, order, cursor, 4, walk)
        ids += [item["id"] for item in page.items]
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


CASES = [
    {},
    {"status": ["Suspended"]},
    {"status": ["Active", "Inactive", "Active"]},
    {"status": ["Cancelled", "Completed", "Suspended"], "engineer_id": ENGINEERS[0]},
    {"organization_id": ORGANIZATION},
    {"contact_id": CONTACT},
    {"q": "fibre"},
    {"q": "RARENAME"},
    {"q": "sub-000002"},
    {"q": "acme", "status": ["Active", "Suspended"]},
    {"q": "nothing like it"},
    {"q": "100%_"},
    {"q": "e0"},
]
SORTS = ("-created_at", "updated_at", "name", "-name", "unique_id", "status", "-status")


@pytest.mark.parametrize("sort", SORTS)
async def test_every_filter_and_sort_pages_through_exactly_the_matching_rows(
    pool: asyncpg.Pool, sort: str
) -> None:
    tenant_id = tenant()
    made = rows(tenant_id)
    await pool.executemany(INSERT, [tuple(r.values()) for r in made])
    for filters in CASES:
        for walk in (7, 5_000):
            got = await every_page(pool, tenant_id, filters, sort, walk)
            assert got == expected(made, filters, sort), (filters, walk)
