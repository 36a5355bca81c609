"""Shared fixtures: every test run gets its own database and broker namespace.

The suite talks to a real PostgreSQL and NATS JetStream: through testcontainers where a Docker
engine answers, otherwise to the local servers named by DATABASE_URL and NATS_URL. The run's
database and JetStream stream are deleted at the end.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import nats
import pytest
from yoyo import get_backend, read_migrations

from contracts.subjects import events_stream, imports_stream
from tests.helpers import open_pool

ROOT = Path(__file__).resolve().parents[1]
MIGRATIONS = [
    ROOT / "services/subscription/migrations",
    ROOT / "services/projections/migrations",
    ROOT / "services/importer/migrations",
]
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"


def _docker_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env().ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def servers() -> Iterator[tuple[str, str]]:
    """(PostgreSQL server DSN, NATS URL): containers when Docker answers, else local servers."""
    if os.environ.get("WISPGATE_TEST_CONTAINERS", "auto") != "never" and _docker_answers():
        from testcontainers.nats import NatsContainer  # type: ignore[import-untyped]
        from testcontainers.postgres import PostgresContainer  # type: ignore[import-untyped]

        with (
            PostgresContainer("postgres:16", driver=None) as pg,
            NatsContainer("nats:2.10", jetstream=True) as nc,
        ):
            yield pg.get_connection_url(), nc.nats_uri()
        return
    yield (
        os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
        os.environ.get("NATS_URL", DEFAULT_NATS_URL),
    )


def fresh_namespace(servers: tuple[str, str]) -> Iterator[str]:
    """A namespace of its own; its JetStream streams (events, import wake-ups) are deleted at
    the end."""
    ns = f"t{secrets.token_hex(5)}"
    yield ns
    for stream in (events_stream(ns), imports_stream(ns)):
        asyncio.run(_delete_stream(servers[1], stream))


def fresh_database(servers: tuple[str, str], namespace: str) -> Iterator[str]:
    """A database of its own, migrated by every schema owner, dropped at the end."""
    parts = urlsplit(servers[0])
    admin = urlunsplit(parts._replace(path="/postgres"))
    name = f"wispgate_{namespace}"
    asyncio.run(_execute(admin, f'create database "{name}"'))
    url = urlunsplit(parts._replace(path=f"/{name}"))
    try:
        _migrate(url)
        yield url
    finally:
        asyncio.run(_execute(admin, f'drop database if exists "{name}" with (force)'))


def environment(database_url: str, nats_url: str, namespace: str) -> dict[str, str]:
    """Environment for a service process."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "NATS_URL": nats_url,
        "WISPGATE_NAMESPACE": namespace,
        "WISPGATE_ENV": "test",
    }


@pytest.fixture(scope="session")
def namespace(servers: tuple[str, str]) -> Iterator[str]:
    """This run's WISPGATE_NAMESPACE: subjects, stream and consumers are all its own."""
    yield from fresh_namespace(servers)


@pytest.fixture(scope="session")
def nats_url(servers: tuple[str, str]) -> str:
    return servers[1]


@pytest.fixture(scope="session")
def database_url(servers: tuple[str, str], namespace: str) -> Iterator[str]:
    """A fresh database for this run, migrated by every schema owner, dropped at the end."""
    yield from fresh_database(servers, namespace)


def _migrate(url: str) -> None:
    yoyo_url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    for folder in MIGRATIONS:
        backend = get_backend(yoyo_url)
        with backend.lock():
            backend.apply_migrations(backend.to_apply(read_migrations(str(folder))))
        backend.connection.close()


@pytest.fixture(scope="session")
def service_env(database_url: str, nats_url: str, namespace: str) -> dict[str, str]:
    """Environment for a service process of this run."""
    return environment(database_url, nats_url, namespace)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on this run's database (jsonb as Python objects)."""
    async with open_pool(database_url) as p:
        yield p


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[nats.NATS]:
    """A plain NATS connection, for looking at what the broker holds."""
    client = await nats.connect(nats_url)
    yield client
    await client.drain()


def tenant() -> str:
    """A tenant id of its own, so tests never see each other's data."""
    return f"t-{secrets.token_hex(4)}"


@pytest.fixture
def tenant_id() -> str:
    """A tenant of the test's own."""
    return tenant()


async def _execute(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _delete_stream(url: str, stream: str) -> None:
    client = await nats.connect(url)
    try:
        await client.jetstream().delete_stream(stream)
    except Exception:
        pass
    finally:
        await client.close()
