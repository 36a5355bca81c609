"""Rendering the pages: one Jinja2 environment, the header every page shows, security headers."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from services.subscription.read.freshness import NotIssued, NotYetVisible
from services.subscription.web.session import (
    CSRF_FIELD,
    PageError,
    SignInRequired,
    check_csrf,
    csrf_token,
    last_write,
)

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")

# Scripts and styles come from /static only, so an injected tag could not run.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
        "form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page, with the signed-in principal and the CSRF token for its forms."""
    context.setdefault("principal", getattr(request.state, "principal", None))
    context["csrf_token"] = csrf_token(request)
    context["csrf_field"] = CSRF_FIELD
    return templates.TemplateResponse(
        request, template, context, status_code=status, headers=HEADERS
    )


def see_other(url: str) -> RedirectResponse:
    """After a form: the browser fetches the next page with GET (303)."""
    return RedirectResponse(url, status_code=303)


def with_query(path: str, **params: Any) -> str:
    """`path?query`, leaving out empty parameters."""
    given = {k: v for k, v in params.items() if v not in (None, "", [])}
    return f"{path}?{urlencode(given, doseq=True)}" if given else path


async def posted(request: Request) -> FormData:
    """The submitted form, once its CSRF token proved it came from these pages."""
    form = await request.form(max_files=0, max_fields=64)
    check_csrf(request, form.get(CSRF_FIELD))
    return form


async def caught_up(request: Request, *projections: str) -> bool:
    """Wait until the read models show the visitor's last write; False when they lag still."""
    freshness = request.app.state.freshness
    try:
        for projection in projections:
            await freshness.wait(projection, last_write(request))
    except (NotYetVisible, NotIssued):
        return False
    return True


def install(app: FastAPI) -> None:
    """Answer the pages' own refusals with a redirect or an error page."""

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        return see_other(with_query("/login", next=exc.path))

    @app.exception_handler(PageError)
    async def _refused(request: Request, exc: PageError) -> Response:
        return render(request, "error.html", exc.status, title=exc.title, message=exc.message)
