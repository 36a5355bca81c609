"""Bearer-token authentication: every /api/v1 route knows its caller and their tenant."""

from __future__ import annotations

import hmac
import time
from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from services.subscription.access import tokens
from services.subscription.access.tokens import Principal
from services.subscription.api.problems import Problem

DEVELOPMENT = Principal(name="development", tenant_id="default", role="admin")
CACHE_SECONDS = 5.0  # a revoked token stops working within this time


class TokenCache:
    """Recently verified tokens (by their stored form), so a request needs no query."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Principal | None]] = {}

    async def lookup(self, pool: asyncpg.Pool, token_hash: str) -> Principal | None:
        now = time.monotonic()
        hit = self._entries.get(token_hash)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        principal = await tokens.find_digest(pool, token_hash)
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[token_hash] = (now, principal)
        return principal


async def authenticate(request: Request, token: str) -> Principal | None:
    """The principal behind a bearer token or form token, or None."""
    return await authenticate_digest(request, tokens.digest(token))


async def authenticate_digest(request: Request, token_hash: str) -> Principal | None:
    """The principal behind a token known by its stored form (the admin pages' session)."""
    state = request.app.state
    dev_token = state.settings.admin_token
    if dev_token is not None and hmac.compare_digest(token_hash, tokens.digest(dev_token)):
        return DEVELOPMENT
    principal: Principal | None = await state.token_cache.lookup(state.pool, token_hash)
    return principal


async def caller(request: Request) -> Principal:
    """The authenticated caller; 401 without a known bearer token."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(
            401,
            "send Authorization: Bearer <token>",
            slug="unauthorized",
            headers={"WWW-Authenticate": "Bearer"},
        )
    principal = await authenticate(request, token.strip())
    if principal is None:
        raise Problem(
            401,
            "unknown or revoked token",
            slug="unauthorized",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return principal


async def writer(principal: Annotated[Principal, Depends(caller)]) -> Principal:
    """The caller, if their role may change data; 403 for read-only tokens."""
    if not principal.can_write:
        raise Problem(403, f"token {principal.name!r} is read-only", slug="forbidden")
    return principal


Caller = Annotated[Principal, Depends(caller)]
Writer = Annotated[Principal, Depends(writer)]
