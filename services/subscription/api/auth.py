"""Bearer-token authentication: every /api/v1 route knows its caller and their tenant."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.subscription.access.tokens import Principal
from services.subscription.api.problems import Problem


async def authenticate(request: Request, token: str) -> Principal | None:
    """The principal behind a bearer token or form token, or None."""
    principal: Principal | None = await request.app.state.usecases.auth.by_token(token)
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
    may_write(principal)
    return principal


def may_write(principal: Principal) -> None:
    """403 unless the principal's role may change data."""
    if not principal.can_write:
        raise Problem(403, f"token {principal.name!r} is read-only", slug="forbidden")


Caller = Annotated[Principal, Depends(caller)]
Writer = Annotated[Principal, Depends(writer)]
