"""The admin pages in a real browser: every process `make run` starts, on a database and
namespace of their own, driven by Debian's chromium through Playwright.

Each test gets a tenant of its own with a small directory and a few subscriptions (made through
the API), an admin token and a read token, and a fresh browser context. Chromium comes from the
system (`make browser`, `.ci/run`); Playwright never downloads one.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from services.subscription.access import tokens
from tests.conftest import environment, fresh_database, fresh_namespace
from tests.e2e.conftest import COMMANDS
from tests.importer.conftest import ImportSystem

CHROMIUM = Path("/usr/bin/chromium")
DESKTOP = {"width": 1280, "height": 800}
# Small batches, so that the import page's progress bar has steps to show; a short poll, so a
# job whose wake-up was missed is still picked up quickly.
IMPORTER_ENV = {"IMPORTER_BATCH_ROWS": "5", "IMPORTER_POLL_INTERVAL": "0.5"}

DIRECTORY = (
    ("contacts", "Ada Lovelace", {"name": "Ada Lovelace", "email": "ada@example.com"}),
    ("contacts", "Alan Turing", {"name": "Alan Turing", "phone": "+44 20 7946 0000"}),
    ("organizations", "Acme Wireless", {"name": "Acme Wireless"}),
    ("engineers", "Grace Hopper", {"name": "Grace Hopper", "email": "grace@example.com"}),
    ("engineers", "Katherine Johnson", {"name": "Katherine Johnson"}),
    ("service-contracts", "SC-1", {"number": "SC-1", "title": "Fibre 100"}),
)
# (name, status, contact, engineer): the list shows one badge of each colour but Completed.
SUBSCRIPTIONS = (
    ("Lovelace home fibre", "Active", "Ada Lovelace", "Grace Hopper"),
    ("Turing office link", "Suspended", "Alan Turing", "Katherine Johnson"),
    ("Lovelace farm backhaul", "Inactive", "Ada Lovelace", "Katherine Johnson"),
    ("Turing old cabin", "Cancelled", "Alan Turing", "Grace Hopper"),
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without chromium (and apt to install it) the browser tests skip; under CI they fail."""
    if CHROMIUM.exists() or os.environ.get("CI"):
        return
    skip = pytest.mark.skip(
        reason=f"{CHROMIUM} is missing and could not be installed: "
        "`make browser` (apt-get install chromium) makes the browser tests run"
    )
    for item in items:
        if item.get_closest_marker("ui"):
            item.add_marker(skip)


@dataclass
class Tenant:
    """A tenant of one test: its tokens and what its directory and list hold, by name."""

    id: str
    admin_token: str
    read_token: str
    ids: dict[str, str] = field(default_factory=dict)
    unique_ids: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="session")
def ui_namespace(servers: tuple[str, str]) -> Iterator[str]:
    yield from fresh_namespace(servers)


@pytest.fixture(scope="session")
def ui_database_url(servers: tuple[str, str], ui_namespace: str) -> Iterator[str]:
    yield from fresh_database(servers, ui_namespace)


@pytest.fixture(scope="session")
def ui_system(
    ui_database_url: str,
    nats_url: str,
    ui_namespace: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ImportSystem]:
    """API, relay, commands, projection worker and importer worker, as `make run` starts them."""
    env = environment(ui_database_url, nats_url, ui_namespace) | IMPORTER_ENV
    env["WISPGATE_SESSION_SECRET"] = secrets.token_urlsafe(32)
    logs = tmp_path_factory.mktemp("ui-logs")
    yield from ImportSystem.running(env, logs, [*COMMANDS, "importer"])


@pytest.fixture(scope="session")
def base_url(ui_system: ImportSystem) -> str:
    return ui_system.base_url


@pytest.fixture
async def ui_tenant(
    request: pytest.FixtureRequest, ui_system: ImportSystem, ui_database_url: str
) -> Tenant:
    """A tenant with an admin and a read token, a small directory and four subscriptions."""
    tenant_id = tenant_of(request.node.name)
    made = Tenant(tenant_id, *await _tokens(ui_database_url, tenant_id))
    async with httpx.AsyncClient(
        base_url=ui_system.base_url,
        headers={"Authorization": f"Bearer {made.admin_token}"},
        timeout=30,
    ) as http:
        position = max(await _directory(http, made), await _subscriptions(http, made))
        # The pages read the read models: wait until they hold everything made above.
        for path in ("subscriptions", "engineers", "contacts", "service-contracts"):
            _ok(await http.get(f"/api/v1/{path}", params={"min_position": position}))
    return made


def tenant_of(test_name: str) -> str:
    """The test's own tenant, named after it: the run's database is new, so the name is free,
    and the screenshots come out the same from one run to the next."""
    name = re.sub(r"[^a-z0-9]+", "-", test_name.removeprefix("test_").lower()).strip("-")
    return f"isp-{name}"[:60]


async def _tokens(database_url: str, tenant_id: str) -> tuple[str, str]:
    conn = await asyncpg.connect(database_url)
    try:
        admin, _ = await tokens.create(conn, "Ada Admin", tenant_id, "admin")
        read, _ = await tokens.create(conn, "Rita Reader", tenant_id, "read")
    finally:
        await conn.close()
    return admin, read


async def _directory(http: httpx.AsyncClient, made: Tenant) -> int:
    position = 0
    for path, name, body in DIRECTORY:
        answer = _ok(await http.post(f"/api/v1/{path}", json=body))
        made.ids[name] = answer["id"]
        position = max(position, answer["position"])
    return position


async def _subscriptions(http: httpx.AsyncClient, made: Tenant) -> int:
    position = 0
    for name, status, contact, engineer in SUBSCRIPTIONS:
        body = {
            "name": name,
            "status": status,
            "contact_id": made.ids[contact],
            "engineer_id": made.ids[engineer],
            "organization_id": made.ids["Acme Wireless"],
        }
        answer = _ok(await http.post("/api/v1/subscriptions", json=body))
        made.ids[name] = answer["id"]
        made.unique_ids[name] = answer["unique_id"]
        position = max(position, answer["position"])
    return position


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.is_success, f"{response.request.method} {response.url}: {response.text}"
    return dict(response.json())


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium; under CI its absence fails the browser tests instead of skipping them."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs it (apt-get install chromium)")
    return str(CHROMIUM)


@pytest.fixture(scope="session")
async def browser(chromium: str) -> AsyncIterator[Browser]:
    """Headless Debian chromium (never a browser Playwright downloads).

    The async API runs on the suite's event loop; the sync API would mark that loop as running
    between its calls and break every async fixture and test after it.
    """
    async with async_playwright() as driver:
        launched = await driver.chromium.launch(executable_path=chromium, headless=True)
        yield launched
        await launched.close()


@pytest.fixture
async def page(browser: Browser, base_url: str) -> AsyncIterator[Page]:
    """A fresh browser context (no cookies) at desktop size, its URLs relative to the API."""
    context = await browser.new_context(base_url=base_url, viewport=DESKTOP, accept_downloads=True)
    context.set_default_timeout(15_000)
    opened = await context.new_page()
    yield opened
    await context.close()
