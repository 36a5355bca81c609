"""The admin pages' session: who signed in, the CSRF token, and the last write they made.

The session is a signed cookie (Starlette's SessionMiddleware, signed with itsdangerous). It
holds the token's SHA-256 digest, the form the token table stores, never the token itself: a
leaked cookie cannot be replayed against the API, and every request checks the digest against
the live tokens, so a revoked token ends its sessions within the token cache's few seconds.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from services.subscription.access.tokens import Principal
from services.subscription.config import Settings

COOKIE = "wispgate_session"
MAX_AGE_SECONDS = 12 * 60 * 60  # from sign-in or the last change made through the pages
CSRF_FIELD = "csrf_token"
# The paths of the pages, the only ones that read or write the cookie (signin.py, the /admin
# routers): the API, /metrics and /static never need it decoded, signed or set.
PAGE_PATHS = frozenset({"/", "/login", "/logout"})
PAGE_PREFIX = "/admin"


class SignInRequired(Exception):
    """The visitor has no live session; they are sent to the sign-in page."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


class PageError(Exception):
    """A request the pages refuse or cannot answer, shown as an error page."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


def install(app: FastAPI, settings: Settings) -> None:
    """Sign and read the session cookie of the pages: HttpOnly, SameSite=Lax, Secure in
    production."""
    assert settings.session_secret is not None  # the settings fill it in when unset
    app.add_middleware(
        PageSessions,
        secret_key=settings.session_secret.get_secret_value(),
        session_cookie=COOKIE,
        max_age=MAX_AGE_SECONDS,
        same_site="lax",
        https_only=settings.env == "production",
    )


class PageSessions:
    """Starlette's SessionMiddleware on the pages' paths only; other requests pass by it."""

    def __init__(self, app: ASGIApp, **options: Any) -> None:
        self.app = app
        self.with_session = SessionMiddleware(app, **options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_page(scope["path"]):
            await self.with_session(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def is_page(path: str) -> bool:
    """Whether a request path is one of the pages' (they have a session)."""
    return path in PAGE_PATHS or path == PAGE_PREFIX or path.startswith(PAGE_PREFIX + "/")


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use (the sign-in form needs one too)."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf(request: Request, submitted: object) -> None:
    """Refuse a form whose CSRF token is not the session's."""
    expected = request.session.get("csrf")
    if not (
        isinstance(expected, str)
        and isinstance(submitted, str)
        and hmac.compare_digest(expected.encode(), submitted.encode())
    ):
        raise PageError(
            403,
            "Form expired",
            "This form is out of date or was not sent from these pages. "
            "Go back, reload the page and try again.",
        )


def sign_in(request: Request, token_hash: str) -> None:
    """Start a fresh session (a new CSRF token too, so a planted one dies here)."""
    request.session.clear()
    request.session["token"] = token_hash
    request.session["csrf"] = secrets.token_urlsafe(32)


async def session_principal(request: Request, token_hash: object) -> Principal | None:
    """The live principal behind a session's token digest, if it is one."""
    if not isinstance(token_hash, str):
        return None
    principal: Principal | None = await request.app.state.usecases.auth.by_digest(token_hash)
    return principal


def sign_out(request: Request) -> None:
    request.session.clear()


def remember_write(request: Request, position: int) -> None:
    """Keep the position of the last write, so the next pages wait until they show it."""
    if position > int(request.session.get("seen", 0)):
        request.session["seen"] = position


def last_write(request: Request) -> int | None:
    seen = request.session.get("seen")
    return seen if isinstance(seen, int) else None


async def signed_in(request: Request) -> Principal:
    """The session's principal; visitors without a live one go to the sign-in page."""
    principal = await session_principal(request, request.session.get("token"))
    if principal is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(path if request.method == "GET" else "/admin/subscriptions")
    request.state.principal = principal
    return principal


async def writer(principal: Annotated[Principal, Depends(signed_in)]) -> Principal:
    """The principal, if their token may change data."""
    if not principal.can_write:
        raise PageError(
            403, "Read-only access", f"The token {principal.name!r} may look but not change."
        )
    return principal


SignedIn = Annotated[Principal, Depends(signed_in)]
Writer = Annotated[Principal, Depends(writer)]
