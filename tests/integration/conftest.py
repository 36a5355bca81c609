"""Fixtures for the API served in-process against the real PostgreSQL and NATS."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import pytest

from services.subscription.access import tokens
from services.subscription.app import create_app
from services.subscription.config import Settings
from tests.conftest import tenant
from tests.helpers import directory, until

ClientFactory = Callable[..., Awaitable[httpx.AsyncClient]]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def settings(database_url: str, nats_url: str, namespace: str) -> Settings:
    return Settings(database_url=database_url, nats_url=nats_url, namespace=namespace, env="test")


@pytest.fixture
async def app_transport(settings: Settings) -> AsyncIterator[httpx.ASGITransport]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield httpx.ASGITransport(app=app)


def api_client(transport: httpx.ASGITransport, token: str) -> httpx.AsyncClient:
    """An API client of the in-process app, holding `token`."""
    return httpx.AsyncClient(
        transport=transport, base_url="http://test", headers={"Authorization": f"Bearer {token}"}
    )


@pytest.fixture
async def client_for(
    app_transport: httpx.ASGITransport, pool: asyncpg.Pool
) -> AsyncIterator[ClientFactory]:
    """Make an HTTP client holding a fresh token: `await client_for(tenant_id, role)`."""
    clients: list[httpx.AsyncClient] = []

    async def make(tenant_id: str | None = None, role: tokens.Role = "admin") -> httpx.AsyncClient:
        tenant_id = tenant_id or tenant()
        token, _ = await tokens.create(pool, f"tester-{role}", tenant_id, role)
        client = api_client(app_transport, token)
        client.tenant_id = tenant_id  # type: ignore[attr-defined]
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


def csrf_of(page: httpx.Response) -> str:
    """The CSRF token of the page's forms, once every POST form was seen to carry it."""
    forms = re.findall(r'<form method="post".*?</form>', page.text, re.S)
    assert forms, "the page has no form"
    tokens_seen = {found.group(1) for form in forms if (found := CSRF.search(form))}
    assert len(tokens_seen) == 1 and all(CSRF.search(form) for form in forms), forms
    return tokens_seen.pop()


class Browser(httpx.AsyncClient):
    """A browser-like client of the in-process app: it keeps the session cookie, and posts a
    page's forms with the page's CSRF token. Once signed in, `api` holds the same token."""

    def __init__(self, transport: httpx.ASGITransport) -> None:
        super().__init__(transport=transport, base_url="http://test")
        self.app_transport = transport
        self.tenant_id = ""
        self.token = ""
        self._api: httpx.AsyncClient | None = None

    @property
    def api(self) -> httpx.AsyncClient:
        """An API client holding the signed-in token (same tenant, same name)."""
        assert self._api, "not signed in"
        return self._api

    async def submit(
        self, page: httpx.Response, action: str, data: dict[str, Any] | None = None, **more: Any
    ) -> httpx.Response:
        """Post a form of `page` to `action`, with the page's CSRF token."""
        return await self.post(action, data={"csrf_token": csrf_of(page), **(data or {})}, **more)

    async def sign_in(self, tenant_id: str, token: str) -> None:
        """Sign in through the sign-in page, as a person would."""
        signed = await self.submit(await self.get("/login"), "/login", {"token": token})
        assert signed.status_code == 303, signed.text
        self.tenant_id, self.token = tenant_id, token
        self._api = api_client(self.app_transport, token)

    async def aclose(self) -> None:
        if self._api:
            await self._api.aclose()
        await super().aclose()


WebFactory = Callable[..., Awaitable[Browser]]


@pytest.fixture
async def web(app_transport: httpx.ASGITransport, pool: asyncpg.Pool) -> AsyncIterator[WebFactory]:
    """Make a browser signed in with a fresh token: `await web(tenant_id, role)`."""
    browsers: list[Browser] = []

    async def make(tenant_id: str | None = None, role: tokens.Role = "admin") -> Browser:
        tenant_id = tenant_id or tenant()
        token, _ = await tokens.create(pool, f"staff-{role}", tenant_id, role)
        browser = Browser(app_transport)
        browsers.append(browser)
        await browser.sign_in(tenant_id, token)
        return browser

    yield make
    for browser in browsers:
        await browser.aclose()


@pytest.fixture
async def browser(web: WebFactory) -> Browser:
    """An admin signed in to the pages, of a tenant of its own."""
    return await web()


@pytest.fixture
async def api(client_for: ClientFactory) -> httpx.AsyncClient:
    """An admin client of a tenant of its own."""
    return await client_for()


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

    async def reached() -> bool:
        await catchup.catch_up()
        return all([await pool.fetchval(REACHED, name, position) for name in PROJECTIONS])

    await until(reached, deadline, 0.02, f"projections never reached {position}")
