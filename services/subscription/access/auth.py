"""Who a token is: the deployment's development token, or a live token of the table, cached
for a few seconds so most requests need no query. The API and the pages both ask here."""

from __future__ import annotations

import hmac
import time

import asyncpg

from services.subscription.access import tokens
from services.subscription.access.tokens import Principal

DEVELOPMENT = Principal(name="development", tenant_id="default", role="admin")
CACHE_SECONDS = 5.0  # a revoked token stops working within this time
MAX_CACHED = 10_000


class Authenticator:
    """Finds the principal behind a token or its stored form (its digest)."""

    def __init__(self, pool: asyncpg.Pool, development_token: str | None = None) -> None:
        self._pool = pool
        self._development = tokens.digest(development_token) if development_token else None
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def by_token(self, token: str) -> Principal | None:
        """The principal behind a bearer token or form token, or None."""
        return await self.by_digest(tokens.digest(token))

    async def by_digest(self, token_hash: str) -> Principal | None:
        """The principal behind a token known by its stored form (the pages' session)."""
        if self._development is not None and hmac.compare_digest(token_hash, self._development):
            return DEVELOPMENT
        now = time.monotonic()
        hit = self._cache.get(token_hash)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        principal = await tokens.find_digest(self._pool, token_hash)
        if len(self._cache) > MAX_CACHED:
            self._cache.clear()
        self._cache[token_hash] = (now, principal)
        return principal

    def forget(self) -> None:
        """Drop every cached answer, as if their few seconds had passed."""
        self._cache.clear()
