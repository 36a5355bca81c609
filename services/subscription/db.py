"""PostgreSQL: the database itself, its migrations and the connection pool."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from yoyo import get_backend, read_migrations

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")

# Keep every transaction short: the commit-safe readers wait for the oldest open transaction on
# the whole server (see eventstore.py), so a client left idle in a transaction must not hold them.
SERVER_SETTINGS = {"idle_in_transaction_session_timeout": "10000", "application_name": "wispgate"}


async def ensure_database(dsn: str) -> None:
    """Create the database the DSN names, if it does not exist yet."""
    parts = urlsplit(dsn)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    conn = await asyncpg.connect(admin)
    try:
        exists = await conn.fetchval("select 1 from pg_database where datname = $1", name)
        if not exists:
            try:
                await conn.execute(f'create database "{name}"')
                log.info("created database", extra={"database": name})
            except asyncpg.DuplicateDatabaseError:
                pass
    finally:
        await conn.close()


def migrate(dsn: str, migrations: Path = MIGRATIONS) -> int:
    """Apply pending migrations of this schema owner; returns how many were applied.

    Every owner shares yoyo's bookkeeping table; migration ids name their schema, so they differ.
    """
    uri = dsn.replace("postgresql://", "postgresql+psycopg://", 1).replace(
        "postgres://", "postgresql+psycopg://", 1
    )
    backend = get_backend(uri)
    pending = backend.to_apply(read_migrations(str(migrations)))
    with backend.lock():
        backend.apply_migrations(pending)
    return len(pending)


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Nothing to reset: pooled connections never change session state (no SET, no LISTEN)."""


async def create_pool(dsn: str, size: int = 10) -> asyncpg.Pool:
    """A connection pool whose connections speak jsonb as Python objects.

    asyncpg resets a connection on every release with a round trip of its own; these
    connections keep no session state, so that round trip is skipped.
    """
    return await asyncpg.create_pool(
        dsn,
        min_size=1,
        max_size=size,
        init=_init_connection,
        reset=_keep_session,
        server_settings=SERVER_SETTINGS,
    )
