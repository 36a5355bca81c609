"""RFC 9457 problem responses, and the mapping of every expected failure onto one."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.subscription.http.problem import Problem
from services.subscription.usecases.errors import (
    AlreadyActive,
    AlreadyExists,
    Closed,
    Conflict,
    DomainError,
    IdempotencyKeyReused,
    Invalid,
    LostRace,
    NotClosed,
    NotFound,
    PlanRetired,
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
    410: "Gone",
    412: "Precondition failed",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    428: "Precondition required",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class FieldError(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pointer: str = Field(description="JSON pointer to the field at fault ('' for the whole body)")
    detail: str


class ProblemDetails(BaseModel):
    """An RFC 9457 problem, as every error of the API answers (application/problem+json)."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(examples=["urn:wispgate:problem:not-found"])
    title: str
    status: int
    detail: str
    instance: str | None = Field(None, description="the path of the request")
    errors: list[FieldError] | None = Field(None, description="each field at fault")


# What each problem status means, as the OpenAPI document says it.
MEANINGS = {
    400: "The body is not well-formed (JSON that does not parse, a broken form)",
    401: "No bearer token, or an unknown or revoked one",
    403: "The token is read-only",
    404: "No such resource in the caller's tenant",
    409: (
        "Conflict: a closed subscription (or an open one reopened), an active entry "
        "reactivated, a retired plan given to a service, a value or address taken, or a "
        "concurrent change"
    ),
    410: "Gone: retention deleted the error report",
    412: "If-Match does not match the current version (the ETag answers the current one)",
    413: "The request body is over the limit",
    415: "The body is not of the media type the route reads",
    422: "Invalid parameters or body; `errors` names each field by a JSON pointer",
    429: "Too many imports of the tenant waiting; Retry-After says when to try again",
    503: "The database is busy or away, or the read model did not reach min_position in time",
}


# The problems of each kind of route. Every /api/v1 route authenticates (401) and reads the
# database (503); every request's query string is checked (422).
READ = (401, 422, 503)
READ_ONE = (401, 404, 422, 503)  # a path with an id
# A command: a body that does not parse, If-Match, reservations, the body limit.
WRITE = (400, 401, 403, 409, 412, 413, 422, 503)
WRITE_ON = (400, 401, 403, 404, 409, 412, 413, 422, 503)


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: each status answered as a problem+json ProblemDetails."""
    return {
        status: {"model": ProblemDetails, "description": MEANINGS[status]}
        for status in sorted(statuses)
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
    """Answer every expected failure with a problem response.

    What no handler expects is answered by middleware.Edge, which keeps the connection.
    """
    for error, handler in HANDLERS:
        app.add_exception_handler(error, handler)
    document = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            problem_media_types(document())
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def problem_media_types(schema: dict[str, Any]) -> None:
    """Declare every error answer as application/problem+json, as it is sent.

    FastAPI puts a `responses=` model under the route's own media type (application/json).
    """
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status[0] in "45" and "application/json" in content:
                    content[MEDIA_TYPE] = content.pop("application/json")


async def _problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(
        exc.status,
        exc.detail,
        slug=exc.slug,
        instance=request.url.path,
        errors=exc.errors,
        headers=exc.headers,
    )


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = field_errors(exc.errors())
    detail = "; ".join(f"{e['pointer'] or 'body'}: {e['detail']}" for e in errors)
    return problem_response(
        422, detail, slug="validation-error", instance=request.url.path, errors=errors
    )


async def _domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    status, slug = domain_status(exc)
    errors = [{"pointer": exc.pointer, "detail": exc.message}] if exc.pointer else None
    if status == 422 and errors is None:
        errors = [{"pointer": "", "detail": exc.message}]
    return problem_response(
        status, exc.message, slug=slug, instance=request.url.path, errors=errors
    )


async def _stale(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, VersionMismatch)
    return problem_response(
        412,
        f"If-Match does not match the current version {exc.current}; reload and retry",
        slug="stale-version",
        instance=request.url.path,
        headers={"ETag": f'"{exc.current}"'},
    )


async def _race(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(409, str(exc), slug="concurrent-update", instance=request.url.path)


async def _taken(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ReservationTaken)
    return problem_response(
        409,
        taken_message(exc),
        slug=f"{exc.reservation.kind.replace('_', '-')}-taken",
        instance=request.url.path,
    )


async def _reused(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(
        422,
        str(exc),
        slug="idempotency-key-reused",
        instance=request.url.path,
        errors=[{"pointer": "", "detail": "Idempotency-Key reused with a different body"}],
    )


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return problem_response(
        exc.status_code,
        str(exc.detail),
        instance=request.url.path,
        headers=getattr(exc, "headers", None),
    )


async def _schema(request: Request, exc: Exception) -> JSONResponse:
    log.error("schema missing", extra={"path": request.url.path, "error": str(exc)})
    return _unavailable(request, "the database schema is not in place; run setup")


async def _database_away(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unreachable", extra={"path": request.url.path, "error": repr(exc)})
    return _unavailable(request, "the database is unreachable; retry shortly")


async def _busy(request: Request, exc: Exception) -> JSONResponse:
    # A pool with no free connection within its acquire timeout, or a statement past its
    # statement_timeout: the server is overloaded, not the request wrong.
    log.warning("database busy", extra={"path": request.url.path, "error": repr(exc)})
    return _unavailable(request, "the database is busy; retry shortly")


HANDLERS: list[tuple[type[Exception], Any]] = [
    (Problem, _problem),
    (RequestValidationError, _invalid),
    (DomainError, _domain),
    (VersionMismatch, _stale),
    (LostRace, _race),
    (ReservationTaken, _taken),
    (IdempotencyKeyReused, _reused),
    (StarletteHTTPException, _http),
    (asyncpg.UndefinedTableError, _schema),
    (asyncpg.CannotConnectNowError, _database_away),
    (asyncpg.ConnectionDoesNotExistError, _database_away),
    (asyncpg.InterfaceError, _database_away),
    # A connection the server ended mid-statement (a shutdown) or left in a broken state.
    (asyncpg.OperatorInterventionError, _database_away),
    (asyncpg.InternalClientError, _database_away),
    (ConnectionError, _database_away),
    (OSError, _database_away),
    (TimeoutError, _busy),
    (asyncpg.QueryCanceledError, _busy),
]


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
        case NotClosed():
            return 409, "subscription-not-closed"
        case AlreadyActive():
            return 409, "entry-active"
        case PlanRetired():
            return 409, "plan-retired"
        case Conflict():
            return 409, "conflict"
        case Invalid():
            return 422, "validation-error"
        case _:
            return 422, "rejected"
