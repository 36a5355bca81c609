"""The admin pages: server-rendered HTML over the same handlers and queries as the JSON API.

Sign-in with a tenant token kept in a signed session cookie; every form carries a CSRF token;
a read token sees no write actions. Mounted beside the API by services/subscription/app.py.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from services.subscription.config import Settings
from services.subscription.web import (
    bulk,
    changes,
    imports,
    inner,
    pages,
    plans,
    session,
    signin,
    subscriptions,
)
from services.subscription.web.directory import routers as directory_routers
from services.subscription.web.imports import UPLOAD_PATH
from services.subscription.web.pages import HERE
from services.subscription.web.pickers import router as pick_router

__all__ = ["UPLOAD_PATH", "install"]


def install(app: FastAPI, settings: Settings) -> None:
    """Add the pages, their static files at /static and the session cookie to the app."""
    pages.install(app)
    session.install(app, settings)
    app.include_router(signin.router)
    # The list's own paths (`/new`, `/export.csv`) before the inner page's `/{id}`.
    app.include_router(subscriptions.router)
    app.include_router(inner.router)
    app.include_router(changes.router)
    app.include_router(imports.router)
    app.include_router(bulk.router)
    for router in directory_routers:  # Administration: contacts, organizations, …
        app.include_router(router)
    app.include_router(plans.router)
    app.include_router(pick_router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
