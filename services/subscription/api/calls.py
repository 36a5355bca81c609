"""Commands over HTTP: the caller's Call from the request (If-Match, Idempotency-Key,
X-Correlation-Id) and the use case's Result as the response (201 or 200, ETag)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from services.subscription.api.auth import Caller, may_write
from services.subscription.api.deps import Json
from services.subscription.api.problems import Problem
from services.subscription.usecases.calls import CREATED, Call, Result

_ETAG = re.compile(r'^(?:W/)?"?(\d{1,9})"?$')
MAX_KEY_LENGTH = 255
STATUS = {CREATED: 201}  # every other outcome answers 200


async def write_call(request: Request, principal: Caller) -> Call:
    """The command's caller, tenant, correlation, expected version and idempotency key.

    Its headers are read here, once; they are declared for the OpenAPI document by
    `declare_headers`, not as Header parameters FastAPI would parse and validate per request.
    """
    may_write(principal)  # not a Writer dependency: one dependency less to solve per command
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


def _header(name: str, description: str) -> dict[str, Any]:
    nullable = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    return {
        "name": name,
        "in": "header",
        "required": False,
        "schema": {**nullable, "description": description, "title": name},
        "description": description,
    }


WRITE_HEADERS = [
    _header("If-Match", "the version (ETag) the change is meant for"),
    _header(
        "Idempotency-Key", "the same key again answers the first outcome; with another body 422"
    ),
    _header("X-Correlation-Id", "a UUID recorded in the events' metadata"),
]


def declare_headers(routers: Iterable[APIRouter]) -> None:
    """Declare WRITE_HEADERS in the OpenAPI document of every route that takes a WriteCall."""
    for router in routers:
        for route in router.routes:
            if isinstance(route, APIRoute) and _depends_on(route.dependant, write_call):
                extra = route.openapi_extra or {}
                declared = extra.get("parameters", [])
                if WRITE_HEADERS[0] not in declared:  # create_app may run more than once
                    route.openapi_extra = {**extra, "parameters": [*declared, *WRITE_HEADERS]}


def _depends_on(dependant: Dependant, call: Callable[..., Any]) -> bool:
    return any(d.call is call or _depends_on(d, call) for d in dependant.dependencies)


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
    return Json(result.body, status_code=status, headers=headers)


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
