"""What tests of every kind do: poll with a deadline, give a tenant a directory, hold a client of
a tenant's own.

One helper each, so that a test's deadline, its directory and its token are made the same way
in tests/integration, tests/e2e, tests/importer and tests/ui.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg
import httpx

from services.subscription.access import tokens

T = TypeVar("T")

# The directory a subscription refers to: the subscription's field, the API's collection, a body.
DIRECTORY: dict[str, tuple[str, dict[str, Any]]] = {
    "contact_id": ("contacts", {"name": "Jane Doe", "email": "jane@example.net"}),
    "organization_id": ("organizations", {"name": "Acme Farms"}),
    "engineer_id": ("engineers", {"name": "Alice Ng"}),
    "service_contract_id": ("service-contracts", {"number": "SC-1", "title": "Rural 50"}),
}


async def until(
    check: Callable[[], Awaitable[T]],
    within: float = 30,
    every: float = 0.05,
    failing: str | Callable[[], str] = "condition not met in time",
) -> T:
    """The first truthy result of `check`, polled every `every` seconds; fail after `within`.

    `failing` says what was waited for (a callable is asked only on failure, for a log's tail).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not (result := await check()):
        assert loop.time() < deadline, failing() if callable(failing) else failing
        await asyncio.sleep(every)
    return result


async def directory(http: httpx.AsyncClient, **bodies: dict[str, Any] | None) -> dict[str, str]:
    """A contact, an organization, an engineer and a service contract; their ids by field.

    `contact_id={...}` makes the contact from another body; `organization_id=None` makes none.
    """
    ids = {}
    for field, (path, body) in DIRECTORY.items():
        chosen = bodies.pop(field, body)
        if chosen is None:
            continue
        response = await http.post(f"/api/v1/{path}", json=chosen)
        assert response.status_code == 201, response.text
        ids[field] = response.json()["id"]
    assert not bodies, f"no such directory field: {sorted(bodies)}"
    return ids


@asynccontextmanager
async def admin_client(
    base_url: str, db: asyncpg.Pool | asyncpg.Connection, tenant_id: str, name: str
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of a running API, holding a fresh admin token of the tenant."""
    token, _ = await tokens.create(db, name, tenant_id, "admin")
    async with httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as client:
        yield client


@asynccontextmanager
async def open_pool(database_url: str, size: int = 10) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a test database (jsonb as Python objects), closed at the end."""
    from plumbing.postgres import create_pool

    pool = await create_pool(database_url, "wispgate-tests", size)
    try:
        yield pool
    finally:
        await pool.close()
