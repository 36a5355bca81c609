"""PostgreSQL: the database itself, each schema owner's migrations, and connection pools."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from yoyo import get_backend, read_migrations

log = logging.getLogger(__name__)

# Keep every transaction short: commit-safe readers of the event log wait for the oldest open
# transaction on the whole server (see eventlog.py), so a client left idle in a transaction must
# not hold them.
IDLE_IN_TRANSACTION_MS = 10_000


async def ensure_database(dsn: str) -> None:
    """Create the database the DSN names, if it does not exist yet."""
    parts = urlsplit(dsn)
    name = parts.path.lstrip("/")
    conn = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
    try:
        if not await conn.fetchval("select 1 from pg_database where datname = $1", name):
            try:
                await conn.execute(f'create database "{name}"')
                log.info("created database", extra={"database": name})
            except asyncpg.DuplicateDatabaseError:
                pass  # a concurrent setup created it first
    finally:
        await conn.close()


def migrate(dsn: str, migrations: Path) -> int:
    """Apply a schema owner's pending migrations; returns how many were applied.

    Every owner shares yoyo's bookkeeping table; migration ids name their schema, so they never
    clash. What is pending is computed inside the lock, so concurrent setups apply each once.
    """
    dsn = asyncio.run(primary(dsn))  # yoyo's URL parser knows one host
    uri = dsn.replace("postgresql://", "postgresql+psycopg://", 1).replace(
        "postgres://", "postgresql+psycopg://", 1
    )
    backend = get_backend(uri)
    try:
        with backend.lock():
            pending = backend.to_apply(read_migrations(str(migrations)))
            backend.apply_migrations(pending)
        return len(pending)
    finally:
        backend.connection.close()


def server_settings(application_name: str, statement_timeout: float) -> dict[str, str]:
    """Session settings of every pooled connection: who it is, and how long it may take."""
    return {
        "application_name": application_name,
        "idle_in_transaction_session_timeout": str(IDLE_IN_TRANSACTION_MS),
        "statement_timeout": str(int(statement_timeout * 1000)),
    }


async def _jsonb_as_python(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Nothing to reset: pooled connections change no session state (no SET, no LISTEN)."""


class Pool(asyncpg.Pool):
    """An asyncpg pool whose every acquire is bounded in time.

    asyncpg waits for a free connection without limit unless each `acquire()` names a timeout,
    and its shortcuts (`fetch`, `execute`, ...) name none; they all call `acquire()`, so one
    default here bounds them all: a pool exhausted by slow work fails fast with TimeoutError
    (the API answers 503 with Retry-After) instead of queueing requests for ever.
    """

    def __init__(self, *args: Any, acquire_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.acquire_timeout = acquire_timeout

    def acquire(self, *, timeout: float | None = None) -> Any:
        return super().acquire(timeout=self.acquire_timeout if timeout is None else timeout)


async def create_pool(
    dsn: str,
    application_name: str,
    size: int = 10,
    *,
    statement_timeout: float = 30.0,
    acquire_timeout: float = 10.0,
    min_size: int = 1,
) -> Pool:
    """A pool whose connections speak jsonb as Python objects, named in pg_stat_activity.

    asyncpg resets a connection on every release with a round trip of its own; these
    connections keep no session state, so that round trip is skipped.
    """
    pool = Pool(
        dsn,
        acquire_timeout=acquire_timeout,
        min_size=min(min_size, size),
        max_size=size,
        max_queries=50_000,
        max_inactive_connection_lifetime=300.0,
        setup=None,
        init=_jsonb_as_python,
        reset=_keep_session,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        server_settings=server_settings(application_name, statement_timeout),
    )
    await pool
    return pool


def prepare(dsn: str, migrations: Path) -> int:
    """Create the database if it is missing and apply a schema owner's migrations (setup)."""
    asyncio.run(ensure_database(dsn))
    return migrate(dsn, migrations)


async def primary(dsn: str) -> str:
    """The DSN of the server that takes writes, of those a DSN names (a primary and its
    standbys: `postgresql://u@db1:5432,db2:5432/wispgate?target_session_attrs=read-write`).

    asyncpg connects to such a DSN itself; yoyo's URL parser knows one host only.
    """
    parts = urlsplit(dsn)
    userinfo, at, hosts = parts.netloc.rpartition("@")
    if "," not in hosts:
        return dsn
    for host in hosts.split(","):
        single = urlunsplit(parts._replace(netloc=f"{userinfo}{at}{host}"))
        try:
            conn = await asyncpg.connect(single, timeout=5)
        except Exception as exc:  # away, or a standby refused by target_session_attrs
            log.info("not the primary: %s (%r)", host, exc)
            continue
        try:
            if not await conn.fetchval("select pg_is_in_recovery()"):
                return single
        finally:
            await conn.close()
    raise RuntimeError(f"no server of {hosts} takes writes")
