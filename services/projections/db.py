"""PostgreSQL for the projections: the read schema's migrations and the connection pool."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg
from yoyo import get_backend, read_migrations

MIGRATIONS = Path(__file__).with_name("migrations")

# Keep every transaction short: commit-safe readers (these workers included) wait for the oldest
# open transaction on the whole server, so a client left idle in a transaction must not hold them.
SERVER_SETTINGS = {
    "idle_in_transaction_session_timeout": "10000",
    "application_name": "wispgate-projections",
}


def migrate(dsn: str, migrations: Path = MIGRATIONS) -> int:
    """Apply pending read-schema migrations; returns how many were applied.

    Every schema owner shares yoyo's bookkeeping table; migration ids name their schema.
    """
    uri = dsn.replace("postgresql://", "postgresql+psycopg://", 1).replace(
        "postgres://", "postgresql+psycopg://", 1
    )
    backend = get_backend(uri)
    try:
        pending = backend.to_apply(read_migrations(str(migrations)))
        with backend.lock():
            backend.apply_migrations(pending)
        return len(pending)
    finally:
        backend.connection.close()


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Nothing to reset: the projections change no session state (transaction-scoped advisory
    locks and `set local` only, no LISTEN, no cursors or temporary tables)."""


async def create_pool(dsn: str, size: int = 5) -> asyncpg.Pool:
    """A connection pool whose connections speak jsonb as Python objects.

    asyncpg resets a connection on every release with a round trip of its own; a catch-up pass
    releases one per read and per projection applied, so that round trip is skipped.
    """
    return await asyncpg.create_pool(
        dsn,
        min_size=1,
        max_size=size,
        init=_init_connection,
        reset=_keep_session,
        server_settings=SERVER_SETTINGS,
    )
