"""Signing in with a tenant token, signing out, and the front door."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.subscription.access import tokens
from services.subscription.web.pages import posted, render, see_other
from services.subscription.web.session import session_principal, sign_in, sign_out, signed_in

router = APIRouter(include_in_schema=False)
HOME = "/admin/subscriptions"


def _local(path: str | None) -> str:
    """Where to go after signing in: only a path of these pages, never another site."""
    if path and path.startswith("/admin/") and not path.startswith("//"):
        return path
    return HOME


@router.get("/")
async def front_door(request: Request) -> Response:
    if await session_principal(request, request.session.get("token")):
        return see_other(HOME)
    return see_other("/login")


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", next=_local(next))


@router.post("/login")
async def login(request: Request) -> Response:
    form = await posted(request)
    token = str(form.get("token") or "").strip()
    token_hash = tokens.digest(token)
    target = _local(str(form.get("next") or ""))
    if not token or await session_principal(request, token_hash) is None:
        return render(request, "login.html", 401, next=target, error="That token is not valid.")
    sign_in(request, token_hash)
    return see_other(target)


@router.post("/logout")
async def logout(request: Request) -> Response:
    await signed_in(request)
    await posted(request)
    sign_out(request)
    return see_other("/login")
