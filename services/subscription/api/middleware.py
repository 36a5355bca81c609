"""The one ASGI layer of the application's own: request figures, the query guard, the body size
bound, and the answer to an unexpected error.

They were four middlewares; each wrapped `send` (or `receive`) and added an await to every
request. As one layer they cost one wrapper, and keep their order: the figures see every answer
(a 500 too), the query guard answers before the body is read, the body bound before any of it is
parsed.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import parse_qsl
from uuid import uuid4

from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.subscription.api.problems import problem_response

log = logging.getLogger(__name__)

REQUESTS = Histogram(
    "wispgate_http_request_seconds",
    "HTTP requests by route and status",
    ["method", "route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


class Edge:
    """Count and time every request, refuse a bad query string (422) or a body over the limit
    (413), and answer an exception no handler expected with a problem+json 500.

    Multipart uploads to `upload_paths` (imports) are left to their route, which has its own,
    larger limit; multipart bodies elsewhere keep this one.

    Starlette's own last resort (ServerErrorMiddleware) answers and then raises again, and the
    server closes the keep-alive connection. This answers and stops there. The problem carries a
    correlation id, logged with the traceback, so a report can be matched with the log line.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, upload_paths: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_paths = frozenset(upload_paths)
        # The histogram's child per (method, route, status): `labels()` locks and checks.
        self._figures: dict[tuple[str, str, int], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._guarded(scope, receive, sending)
        except Exception:
            if status:
                raise  # half a response is out: only closing the connection can say so
            await _unexpected(scope, receive, sending)
        finally:
            self._observe(scope, status or 500, time.perf_counter() - started)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("query_string"):
            problem = _query_problem(scope["query_string"])
            if problem is not None:
                await _bad_query(scope, receive, send, *problem)
                return
        if scope.get("path") in self.upload_paths and _is_multipart(scope):
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if message["type"] != "http.request" or not message.get("more_body"):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413,
            f"the request body is over {self.max_bytes} bytes",
            slug="body-too-large",
            instance=scope.get("path"),
        )
        await response(scope, receive, send)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        route: Any = scope.get("route")
        key = (scope["method"], getattr(route, "path", "unmatched"), status)
        figures = self._figures.get(key)
        if figures is None:
            figures = self._figures[key] = REQUESTS.labels(key[0], key[1], str(status))
        figures.observe(seconds)


async def _unexpected(scope: Scope, receive: Receive, send: Send) -> None:
    correlation_id = str(uuid4())
    log.exception(
        "unhandled error",
        extra={"path": scope.get("path"), "correlation_id": correlation_id},
    )
    response = problem_response(
        500,
        f"an unexpected error occurred (correlation id {correlation_id})",
        slug="internal-error",
        instance=scope.get("path"),
        headers={"X-Correlation-Id": correlation_id},
    )
    await response(scope, receive, send)


async def _bad_query(scope: Scope, receive: Receive, send: Send, name: str, detail: str) -> None:
    response = problem_response(
        422,
        f"{name}: {detail}",
        slug="validation-error",
        instance=scope.get("path"),
        errors=[{"pointer": f"/{name}", "detail": detail}],
    )
    await response(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _is_multipart(scope: Scope) -> bool:
    return (_header(scope, b"content-type") or "").startswith("multipart/form-data")


# Characters no query parameter may hold: a NUL cannot reach PostgreSQL at all, the other
# control characters have no meaning in any filter, sort, cursor or search.
_CONTROL = frozenset(chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F))


def _query_problem(raw: bytes) -> tuple[str, str] | None:
    """(parameter, what is wrong) for the first bad parameter, or None."""
    try:
        pairs = parse_qsl(raw.decode("ascii"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        return "query", "the query string is not valid UTF-8"
    for name, value in pairs:
        if _CONTROL.intersection(name) or _CONTROL.intersection(value):
            return name[:50] or "query", "must not contain control characters"
    return None
