"""Running a command from an HTTP request: If-Match, Idempotency-Key, actor and the response."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID, uuid4

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from contracts.envelope import Metadata
from services.subscription.access.tokens import Principal
from services.subscription.api.problems import Problem
from services.subscription.write.eventstore import AlreadyAnswered, IdempotencyKey, Remembered
from services.subscription.write.handlers import Answer, Context, Outcome

_ETAG = re.compile(r'^(?:W/)?"?(\d{1,9})"?$')
MAX_KEY_LENGTH = 255


def if_match(request: Request) -> int | None:
    """The version the caller expects, from If-Match; None when absent or `*`."""
    raw = request.headers.get("if-match")
    if raw is None or raw.strip() == "*":
        return None
    match = _ETAG.match(raw.strip())
    if not match:
        raise Problem(
            412, f"If-Match {raw!r} is not a version this API gave out", slug="stale-version"
        )
    return int(match.group(1))


def changed(outcome: Outcome) -> tuple[int, dict[str, Any]]:
    """200 with the id, version and position: the answer to a command on an existing resource."""
    return 200, {
        "id": str(outcome.stream_id),
        "version": outcome.version,
        "position": outcome.position,
    }


async def execute(
    request: Request,
    principal: Principal,
    send: Callable[[Context], Awaitable[Outcome]],
    answer: Answer = changed,
) -> JSONResponse:
    """Carry out a command for the caller and answer it as JSON, with the ETag of the result."""
    idempotency = await _idempotency(request, principal)
    if idempotency is not None:
        remembered = await request.app.state.store.recall(principal.tenant_id, idempotency.key)
        if remembered is not None:
            return _replay(remembered, idempotency)
    metadata = Metadata(
        actor=principal.name,
        correlation_id=_correlation_id(request),
        idempotency_key=idempotency.key if idempotency else None,
    )
    ctx = Context(
        tenant_id=principal.tenant_id,
        metadata=metadata,
        if_match=if_match(request),
        idempotency=idempotency,
        answer=answer if idempotency else None,
    )
    try:
        outcome = await send(ctx)
    except AlreadyAnswered as exc:
        assert idempotency is not None
        return _replay(exc.remembered, idempotency)
    status, body = answer(outcome)
    return JSONResponse(jsonable_encoder(body), status_code=status, headers=_etag(outcome))


def _etag(outcome: Outcome) -> dict[str, str]:
    return {"ETag": f'"{outcome.version}"'}


def _replay(remembered: Remembered, idempotency: IdempotencyKey) -> JSONResponse:
    if remembered.request_hash != idempotency.request_hash:
        raise Problem(
            422,
            "this Idempotency-Key was already used with another request",
            slug="idempotency-key-reused",
            errors=[{"pointer": "", "detail": "Idempotency-Key reused with a different body"}],
        )
    headers = {"Idempotent-Replayed": "true"}
    if "version" in remembered.body:
        headers["ETag"] = f'"{remembered.body["version"]}"'
    return JSONResponse(remembered.body, status_code=remembered.status_code, headers=headers)


async def _idempotency(request: Request, principal: Principal) -> IdempotencyKey | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise Problem(
            422,
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters",
            slug="validation-error",
            errors=[{"pointer": "", "detail": "invalid Idempotency-Key header"}],
        )
    body = await request.body()
    try:
        canonical = (
            json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")) if body else ""
        )
    except ValueError:
        canonical = body.decode("utf-8", "replace")
    digest = hashlib.sha256(
        f"{request.method} {request.url.path}\n{canonical}".encode()
    ).hexdigest()
    return IdempotencyKey(principal.tenant_id, key, digest)


def _correlation_id(request: Request) -> UUID:
    raw = request.headers.get("x-correlation-id")
    try:
        return UUID(raw) if raw else uuid4()
    except ValueError:
        return uuid4()
