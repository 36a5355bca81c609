"""ASGI middleware: the body size bound and request figures."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.subscription.api.problems import problem_response

REQUESTS = Histogram(
    "wispgate_http_request_seconds",
    "HTTP requests by route and status",
    ["method", "route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


class BodyLimit:
    """Refuse bodies over the limit with 413 before any of them is parsed.

    Multipart uploads to `upload_paths` (imports) are left to their route, which has its own,
    larger limit; multipart bodies elsewhere keep this one.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, upload_paths: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_paths = upload_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._is_upload(scope):
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

    def _is_upload(self, scope: Scope) -> bool:
        return scope.get("path") in self.upload_paths and _is_multipart(scope)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413,
            f"the request body is over {self.max_bytes} bytes",
            slug="body-too-large",
            instance=scope.get("path"),
        )
        await response(scope, receive, send)


class RequestFigures:
    """Count and time every request by route template and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route: Any = scope.get("route")
            path = getattr(route, "path", "unmatched")
            REQUESTS.labels(scope["method"], path, str(status["code"])).observe(
                time.perf_counter() - started
            )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _is_multipart(scope: Scope) -> bool:
    return (_header(scope, b"content-type") or "").startswith("multipart/form-data")
