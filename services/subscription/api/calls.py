"""Commands over HTTP: the caller's Call from the request (If-Match, Idempotency-Key,
X-Correlation-Id) and the use case's Result as the response (201 or 200, ETag)."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated
from uuid import UUID, uuid4

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from services.subscription.api.auth import Writer
from services.subscription.api.problems import Problem
from services.subscription.usecases.calls import CREATED, Call, Result

_ETAG = re.compile(r'^(?:W/)?"?(\d{1,9})"?$')
MAX_KEY_LENGTH = 255
STATUS = {CREATED: 201}  # every other outcome answers 200


async def write_call(
    request: Request,
    principal: Writer,
    # Declared for the OpenAPI document; read from the request below, as the pages send them too.
    if_match_: Annotated[
        str | None,
        Header(alias="If-Match", description="the version (ETag) the change is meant for"),
    ] = None,
    idempotency_key_: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="the same key again answers the first outcome; with another body 422",
        ),
    ] = None,
    correlation_id_: Annotated[
        str | None,
        Header(alias="X-Correlation-Id", description="a UUID recorded in the events' metadata"),
    ] = None,
) -> Call:
    """The command's caller, tenant, correlation, expected version and idempotency key."""
    key = _idempotency_key(request)
    return Call(
        actor=principal.name,
        tenant_id=principal.tenant_id,
        correlation_id=_correlation_id(request),
        expected_version=if_match(request),
        idempotency_key=key,
        request_hash=await _request_hash(request) if key is not None else "",
    )


WriteCall = Annotated[Call, Depends(write_call)]


def answer(result: Result, location: str | None = None) -> JSONResponse:
    """The result as JSON: 201 when created, else 200, with the ETag of the version.

    `location` (the new resource's URL) is sent with a 201.
    """
    status = STATUS.get(result.kind, 200)
    headers = {"ETag": f'"{result.version}"'} if result.version is not None else {}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    if location is not None and status == 201:
        headers["Location"] = location
    return JSONResponse(jsonable_encoder(result.body), status_code=status, headers=headers)


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


def _idempotency_key(request: Request) -> str | None:
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
    return key


async def _request_hash(request: Request) -> str:
    """The method, path and body (JSON in one canonical form): what a key is bound to."""
    body = await request.body()
    try:
        canonical = (
            json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")) if body else ""
        )
    except (ValueError, RecursionError):
        # Not JSON, or nested past the parser's depth: the bytes themselves are what the key is
        # bound to (the route's own validation refuses such a body afterwards).
        canonical = body.decode("utf-8", "replace")
    digest = hashlib.sha256(f"{request.method} {request.url.path}\n{canonical}".encode())
    return digest.hexdigest()


def _correlation_id(request: Request) -> UUID:
    raw = request.headers.get("x-correlation-id")
    try:
        return UUID(raw) if raw else uuid4()
    except ValueError:
        return uuid4()
