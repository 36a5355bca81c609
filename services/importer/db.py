"""PostgreSQL: the database itself, the `imports` schema's migrations and the connection pool.

The same steps as the other schema owners (services never import each other); every owner
shares yoyo's bookkeeping table, and migration ids name their schema, so they never clash.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from yoyo import get_backend, read_migrations

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")

# Keep every transaction short: the event store's commit-safe readers wait for the oldest open
# transaction on the whole server, so a client left idle in a transaction must not hold them.
SERVER_SETTINGS = {"idle_in_transaction_session_timeout": "10000", "application_name": "importer"}


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
                pass
    finally:
        await conn.close()


def migrate(dsn: str, migrations: Path = MIGRATIONS) -> int:
    """Apply pending migrations of the `imports` schema; returns how many were applied."""
    uri = dsn.replace("postgresql://", "postgresql+psycopg://", 1).replace(
        "postgres://", "postgresql+psycopg://", 1
    )
    backend = get_backend(uri)
    try:
        with backend.lock():
            pending = backend.to_apply(read_migrations(str(migrations)))
            backend.apply_migrations(pending)
    finally:
        backend.connection.close()
    return len(pending)


async def create_pool(dsn: str, size: int) -> asyncpg.Pool:
    """A small pool: one job at a time needs a connection or two."""
    return await asyncpg.create_pool(
        dsn, min_size=1, max_size=size, server_settings=SERVER_SETTINGS
    )
