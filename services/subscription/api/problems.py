"""RFC 9457 problem responses, and the mapping of every expected failure onto one."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.subscription.domain.errors import (
    AlreadyExists,
    Closed,
    DomainError,
    Invalid,
    NotFound,
)
from services.subscription.write.eventstore import ReservationTaken
from services.subscription.write.handlers import LostRace, VersionMismatch

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"

# Who holds a unique value, as people know the subscription.
HOLDER = """
select value from events.reservations
where tenant_id = $1 and kind = 'unique_id' and stream_id = $2
"""
_CLAIM_LABELS = {
    "ipv4": "IPv4",
    "ipv6": "IPv6",
    "pppoe": "PPPoE username",
    "hotspot_login": "hotspot login",
    "unique_id": "unique ID",
}

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    428: "Precondition required",
    500: "Internal server error",
    503: "Service unavailable",
}


class Problem(Exception):
    """An error answered as problem+json."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug
        self.errors = errors
        self.headers = headers


def problem_response(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    instance: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A problem+json response."""
    title = _TITLES.get(status, "Error")
    body: dict[str, Any] = {
        "type": f"urn:wispgate:problem:{slug or title.lower().replace(' ', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _pointer(loc: tuple[Any, ...]) -> str:
    parts = list(loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc)
    # pydantic appends the tag of a union member or a json error position: keep field names only
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def field_errors(found: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """pydantic's errors as `{pointer, detail}`, the pointer naming the field at fault."""
    errors = []
    for error in found:
        loc = tuple(error.get("loc", ()))
        if error.get("type") == "json_invalid":
            errors.append({"pointer": "", "detail": f"malformed JSON: {error.get('msg')}"})
        elif error.get("type") == "extra_forbidden":
            errors.append({"pointer": _pointer(loc), "detail": "unknown field"})
        elif error.get("type") == "missing" and loc == ("body",):
            errors.append({"pointer": "", "detail": "a JSON body is required"})
        elif loc and loc[0] in ("query", "header"):
            name = str(loc[1]) if len(loc) > 1 else ""
            detail = f"{loc[0]} parameter {name}: {error.get('msg', 'invalid value')}"
            errors.append({"pointer": f"/{name}", "detail": detail})
        else:
            errors.append({"pointer": _pointer(loc), "detail": str(error.get("msg", "invalid"))})
    return errors


async def taken_detail(pool: asyncpg.Pool, exc: ReservationTaken) -> str:
    """What a taken address or login is, and which subscription holds it (by its unique ID)."""
    holder = await pool.fetchval(HOLDER, exc.tenant_id, exc.holder)
    label = _CLAIM_LABELS.get(exc.reservation.kind, exc.reservation.kind)
    held = "" if exc.held == exc.reservation.value else f" (overlaps {exc.held})"
    return f"{label} {exc.reservation.value}{held} is already used by subscription {holder}"


def install(app: FastAPI) -> None:
    """Answer every expected failure with a problem response."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            exc.status,
            exc.detail,
            slug=exc.slug,
            instance=request.url.path,
            errors=exc.errors,
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = field_errors(exc.errors())
        detail = "; ".join(f"{e['pointer'] or 'body'}: {e['detail']}" for e in errors)
        return problem_response(
            422, detail, slug="validation-error", instance=request.url.path, errors=errors
        )

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        status, slug = domain_status(exc)
        errors = [{"pointer": exc.pointer, "detail": exc.message}] if exc.pointer else None
        if status == 422 and errors is None:
            errors = [{"pointer": "", "detail": exc.message}]
        return problem_response(
            status, exc.message, slug=slug, instance=request.url.path, errors=errors
        )

    @app.exception_handler(VersionMismatch)
    async def _stale(request: Request, exc: VersionMismatch) -> JSONResponse:
        return problem_response(
            412,
            f"If-Match does not match the current version {exc.current}; reload and retry",
            slug="stale-version",
            instance=request.url.path,
            headers={"ETag": f'"{exc.current}"'},
        )

    @app.exception_handler(LostRace)
    async def _race(request: Request, exc: LostRace) -> JSONResponse:
        return problem_response(409, str(exc), slug="concurrent-update", instance=request.url.path)

    @app.exception_handler(ReservationTaken)
    async def _taken(request: Request, exc: ReservationTaken) -> JSONResponse:
        return problem_response(
            409,
            await taken_detail(request.app.state.pool, exc),
            slug=f"{exc.reservation.kind.replace('_', '-')}-taken",
            instance=request.url.path,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(
            exc.status_code,
            str(exc.detail),
            instance=request.url.path,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(asyncpg.UndefinedTableError)
    async def _schema(request: Request, exc: Exception) -> JSONResponse:
        log.error("schema missing", extra={"path": request.url.path, "error": str(exc)})
        return _unavailable(request, "the database schema is not in place; run setup")

    @app.exception_handler(asyncpg.CannotConnectNowError)
    @app.exception_handler(asyncpg.ConnectionDoesNotExistError)
    @app.exception_handler(asyncpg.InterfaceError)
    @app.exception_handler(ConnectionError)
    @app.exception_handler(OSError)
    async def _database_away(request: Request, exc: Exception) -> JSONResponse:
        log.warning("database unreachable", extra={"path": request.url.path, "error": repr(exc)})
        return _unavailable(request, "the database is unreachable; retry shortly")

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return problem_response(500, "an unexpected error occurred", instance=request.url.path)


def _unavailable(request: Request, detail: str) -> JSONResponse:
    return problem_response(
        503, detail, slug="unavailable", instance=request.url.path, headers={"Retry-After": "1"}
    )


def domain_status(exc: DomainError) -> tuple[int, str]:
    """The status and problem slug of a broken rule."""
    match exc:
        case NotFound():
            return 404, "not-found"
        case Closed():
            return 409, "subscription-closed"
        case AlreadyExists():
            return 409, "already-exists"
        case Invalid():
            return 422, "validation-error"
        case _:
            return 422, "rejected"
