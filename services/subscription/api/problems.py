"""RFC 9457 problem responses, and the mapping of every expected failure onto one."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.subscription.http.problem import Problem
from services.subscription.usecases.errors import (
    AlreadyExists,
    Closed,
    DomainError,
    IdempotencyKeyReused,
    Invalid,
    LostRace,
    NotFound,
    ReservationTaken,
    VersionMismatch,
    field_errors,
    taken_message,
)

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"

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
            taken_message(exc),
            slug=f"{exc.reservation.kind.replace('_', '-')}-taken",
            instance=request.url.path,
        )

    @app.exception_handler(IdempotencyKeyReused)
    async def _reused(request: Request, exc: IdempotencyKeyReused) -> JSONResponse:
        return problem_response(
            422,
            str(exc),
            slug="idempotency-key-reused",
            instance=request.url.path,
            errors=[{"pointer": "", "detail": "Idempotency-Key reused with a different body"}],
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
