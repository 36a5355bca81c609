"""Resources of the API process, as FastAPI dependencies."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import asyncpg
from fastapi import Depends, Query, Request

from services.subscription.access.tokens import Principal
from services.subscription.api.problems import Problem
from services.subscription.config import Settings
from services.subscription.read.queries import NotYetVisible, wait_for
from services.subscription.read.subscriptions import exists
from services.subscription.usecases.bootstrap import UseCases


async def _pool(request: Request) -> asyncpg.Pool:
    return request.app.state.pool


async def _usecases(request: Request) -> UseCases:
    return request.app.state.usecases


async def _settings(request: Request) -> Settings:
    return request.app.state.settings


# Dependencies are coroutines: FastAPI runs a plain function in a worker thread, per request.
Pool = Annotated[asyncpg.Pool, Depends(_pool)]
Cases = Annotated[UseCases, Depends(_usecases)]
AppSettings = Annotated[Settings, Depends(_settings)]

MinPosition = Annotated[
    int | None,
    Query(ge=0, description="Wait until the read model holds every event up to this position"),
]
Limit = Annotated[int, Query(ge=1, le=500, description="Items per page")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]
SortParam = Annotated[str | None, Query(description="field, or -field for descending")]


async def fresh(
    pool: asyncpg.Pool, settings: Settings, projection: str, position: int | None
) -> None:
    """Wait for read-your-writes; 503 with Retry-After once the bound has passed."""
    try:
        await wait_for(pool, projection, position, settings.read_wait_seconds)
    except NotYetVisible as exc:
        raise Problem(
            503, str(exc), slug="read-model-behind", headers={"Retry-After": "1"}
        ) from None


async def subscription_visible(
    pool: Any,
    settings: Any,
    principal: Principal,
    subscription_id: UUID,
    min_position: int | None,
    projection: str,
) -> None:
    """Wait for read-your-writes, then 404 unless the tenant has this subscription."""
    await fresh(pool, settings, projection, min_position)
    await fresh(pool, settings, "subscriptions", min_position)
    if not await exists(pool, principal.tenant_id, subscription_id):
        raise Problem(404, f"subscription {subscription_id} not found", slug="not-found")


def bad_query(name: str, detail: str) -> Problem:
    """422 naming the query parameter at fault."""
    return Problem(
        422, detail, slug="validation-error", errors=[{"pointer": f"/{name}", "detail": detail}]
    )
