"""Fixtures for the API served in-process against the real PostgreSQL and NATS."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import httpx
import pytest

from services.subscription.access import tokens
from services.subscription.app import create_app
from services.subscription.config import Settings
from tests.conftest import tenant

ClientFactory = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture(scope="session")
def settings(database_url: str, nats_url: str, namespace: str) -> Settings:
    return Settings(database_url=database_url, nats_url=nats_url, namespace=namespace, env="test")


@pytest.fixture
async def app_transport(settings: Settings) -> AsyncIterator[httpx.ASGITransport]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield httpx.ASGITransport(app=app)


@pytest.fixture
async def client_for(
    app_transport: httpx.ASGITransport, pool: asyncpg.Pool
) -> AsyncIterator[ClientFactory]:
    """Make an HTTP client holding a fresh token: `await client_for(tenant_id, role)`."""
    clients: list[httpx.AsyncClient] = []

    async def make(tenant_id: str | None = None, role: tokens.Role = "admin") -> httpx.AsyncClient:
        tenant_id = tenant_id or tenant()
        token, _ = await tokens.create(pool, f"tester-{role}", tenant_id, role)
        client = httpx.AsyncClient(
            transport=app_transport,
            base_url="http://test",
            headers={"Authorization": f"Bearer {token}"},
        )
        client.tenant_id = tenant_id  # type: ignore[attr-defined]
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def api(client_for: ClientFactory) -> httpx.AsyncClient:
    """An admin client of a tenant of its own."""
    return await client_for()


async def directory(api: httpx.AsyncClient) -> dict[str, str]:
    """A contact, an organization, an engineer and a service contract; their ids by field."""
    ids = {}
    for field, path, body in (
        ("contact_id", "contacts", {"name": "Jane Doe", "email": "jane@example.net"}),
        ("organization_id", "organizations", {"name": "Acme Farms"}),
        ("engineer_id", "engineers", {"name": "Alice Ng"}),
        ("service_contract_id", "service-contracts", {"number": "SC-1", "title": "Rural 50"}),
    ):
        response = await api.post(f"/api/v1/{path}", json=body)
        assert response.status_code == 201, response.text
        ids[field] = response.json()["id"]
    return ids


async def new_subscription(api: httpx.AsyncClient, **overrides: object) -> dict[str, object]:
    """Create a subscription with a fresh directory; its create response plus the refs."""
    refs = await directory(api)
    body = {**refs, "name": "Home 50M", "status": "Active", **overrides}
    response = await api.post("/api/v1/subscriptions", json=body)
    assert response.status_code == 201, response.text
    return {**response.json(), "refs": refs}


async def project(pool: asyncpg.Pool, position: int, deadline: float = 30) -> None:
    """Run every projection until it holds all events up to `position`.

    Another session's open transaction can hold the commit-safe horizon back for a while, so one
    catch-up pass is not enough: pass again until the read side has reached the position.
    """
    from plumbing.eventlog import REACHED
    from services.projections.catalog import PROJECTIONS
    from services.projections.runner import Catchup

    catchup = Catchup(pool, [cls() for cls in PROJECTIONS.values()])
    end = asyncio.get_running_loop().time() + deadline
    while True:
        await catchup.catch_up()
        reached = [await pool.fetchval(REACHED, name, position) for name in PROJECTIONS]
        if all(reached):
            return
        assert asyncio.get_running_loop().time() < end, f"projections never reached {position}"
        await asyncio.sleep(0.02)
