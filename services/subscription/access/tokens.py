"""API tokens: created with a name, a tenant and a role; stored only as SHA-256 hashes.

Tokens are 256-bit random strings, so a fast hash is enough: there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID, uuid4

import asyncpg

from contracts.subjects import check_tenant

Role = Literal["admin", "read"]
PREFIX = "wg_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: recorded as the actor of what they change."""

    name: str
    tenant_id: str
    role: Role

    @property
    def can_write(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class TokenInfo:
    id: UUID
    name: str
    tenant_id: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None


INSERT = """
insert into access.tokens (id, name, tenant_id, role, token_hash) values ($1, $2, $3, $4, $5)
returning id, name, tenant_id, role, created_at, revoked_at
"""
LIST = """
select id, name, tenant_id, role, created_at, revoked_at from access.tokens
where ($1::text is null or tenant_id = $1)
order by created_at
"""
REVOKE = """
update access.tokens set revoked_at = now() where id = $1 and revoked_at is null returning id
"""
FIND = """
select name, tenant_id, role from access.tokens where token_hash = $1 and revoked_at is null
"""


def digest(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


async def create(
    conn: asyncpg.Pool, name: str, tenant_id: str, role: Role
) -> tuple[str, TokenInfo]:
    """A new token (shown once) and what is stored of it."""
    if not name.strip():
        raise ValueError("a token needs a name")
    check_tenant(tenant_id)
    token = PREFIX + secrets.token_urlsafe(32)
    row = await conn.fetchrow(INSERT, uuid4(), name.strip(), tenant_id, role, digest(token))
    return token, TokenInfo(**row)


async def list_tokens(conn: asyncpg.Pool, tenant_id: str | None = None) -> list[TokenInfo]:
    """Every token, or a tenant's, oldest first (hashes are never shown)."""
    return [TokenInfo(**row) for row in await conn.fetch(LIST, tenant_id)]


async def revoke(conn: asyncpg.Pool, token_id: UUID) -> bool:
    """Revoke a token; False when there was no such live token."""
    return await conn.fetchval(REVOKE, token_id) is not None


async def find(conn: asyncpg.Pool, token: str) -> Principal | None:
    """The principal a live token stands for."""
    return await find_digest(conn, digest(token))


async def find_digest(conn: asyncpg.Pool, token_hash: str) -> Principal | None:
    """The principal of a live token known by its stored form (a page session keeps only that)."""
    row = await conn.fetchrow(FIND, token_hash)
    return Principal(row["name"], row["tenant_id"], row["role"]) if row else None
