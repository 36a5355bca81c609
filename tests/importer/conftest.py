"""The importer end to end: every process `make run` starts, on a database and namespace of
their own (the in-process tests' jobs must not be claimed by a running worker), an HTTP client
of a tenant and a pool on that database."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest

from tests.conftest import ROOT, environment, fresh_database, fresh_namespace
from tests.e2e.conftest import COMMANDS, System
from tests.helpers import admin_client, open_pool

IMPORTER = [sys.executable, "-m", "services.importer", "worker"]
# Small batches and a short lease, so that a file is still running when a test kills the
# worker, and a killed worker's job is claimed again within seconds.
IMPORTER_ENV = {
    "IMPORTER_BATCH_ROWS": "50",
    "IMPORTER_LEASE_SECONDS": "2",
    "IMPORTER_POLL_INTERVAL": "0.5",
    "IMPORTER_VISIBLE_WAIT": "20",
}


class ImportSystem(System):
    """The e2e processes plus the importer worker."""

    def setup(self) -> None:
        super().setup()
        command = [sys.executable, "-m", "services.importer", "setup"]
        subprocess.run(command, env=self.env, cwd=ROOT, check=True, capture_output=True)

    def start(self, name: str) -> None:
        if name != "importer":
            super().start(name)
            return
        log = (self.logs / "importer.log").open("ab")
        self.processes[name] = subprocess.Popen(
            IMPORTER, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )


@pytest.fixture(scope="session")
def system_namespace(servers: tuple[str, str]) -> Iterator[str]:
    yield from fresh_namespace(servers)


@pytest.fixture(scope="session")
def system_database_url(servers: tuple[str, str], system_namespace: str) -> Iterator[str]:
    yield from fresh_database(servers, system_namespace)


@pytest.fixture(scope="session")
def system(
    system_database_url: str,
    nats_url: str,
    system_namespace: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ImportSystem]:
    env = environment(system_database_url, nats_url, system_namespace) | IMPORTER_ENV
    yield from ImportSystem.running(env, tmp_path_factory.mktemp("logs"), [*COMMANDS, "importer"])


@pytest.fixture
async def system_pool(system_database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the running processes' database."""
    async with open_pool(system_database_url, 4) as p:
        yield p


@pytest.fixture
async def http(
    system: ImportSystem, system_pool: asyncpg.Pool, tenant_id: str
) -> AsyncIterator[httpx.AsyncClient]:
    """An admin client of the test's tenant, talking to the API process."""
    async with admin_client(system.base_url, system_pool, tenant_id, "importer-e2e") as client:
        yield client


@pytest.fixture(scope="session")
def lab_namespace(servers: tuple[str, str]) -> Iterator[str]:
    """A namespace for workers run inside the tests, apart from the running processes."""
    yield from fresh_namespace(servers)


@pytest.fixture(scope="session")
def lab_database_url(servers: tuple[str, str], lab_namespace: str) -> Iterator[str]:
    yield from fresh_database(servers, lab_namespace)


@pytest.fixture
async def lab_pool(lab_database_url: str) -> AsyncIterator[asyncpg.Pool]:
    async with open_pool(lab_database_url, 4) as p:
        yield p
        await p.execute("delete from imports.jobs")
