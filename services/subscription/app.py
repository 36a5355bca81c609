"""The application: the JSON API and the admin pages over one set of use cases.

It sits above both entry points (api/, web/), which never import each other: resources are
made in the lifespan and wired once (usecases/bootstrap.py); the routes of each are mounted here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from fastapi import APIRouter, Depends, FastAPI

from services.subscription import maintenance, web
from services.subscription.api import (
    directory,
    exports,
    imports,
    inner,
    libreqos,
    problems,
    subscriptions,
    system,
    tabs,
)
from services.subscription.api.auth import caller
from services.subscription.api.middleware import (
    BodyLimit,
    QueryGuard,
    RequestFigures,
    Unexpected,
)
from services.subscription.config import Settings, get_settings
from services.subscription.publishing.hints import AppendHints
from services.subscription.read.freshness import Freshness
from services.subscription.usecases.bootstrap import bootstrap


def _version() -> str:
    try:
        return version("wispgate")
    except PackageNotFoundError:
        return "0.0.0"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API application; nothing connects until its lifespan starts."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await settings.create_pool("wispgate-api", settings.pool_size)
        hints = AppendHints(settings.nats_url, settings.namespace, "wispgate-api")
        await hints.start()
        app.state.settings = settings
        app.state.pool = pool
        app.state.freshness = Freshness(pool, settings.read_wait_seconds)
        await app.state.freshness.listen(settings.nats_url, settings.namespace)
        app.state.usecases = bootstrap(pool, settings.admin_token, hints.appended)
        app.state.nats = None
        app.state.asyncapi = system.asyncapi_document(settings.namespace, _version())
        pruning = asyncio.create_task(maintenance.run(pool, settings.idempotency_retention_days))
        try:
            yield
        finally:
            pruning.cancel()
            if app.state.nats is not None:
                await app.state.nats.close()
            await hints.close()
            await app.state.freshness.close()
            await pool.close()

    app = FastAPI(
        title="WISPGate Subscriptions",
        version=_version(),
        description=(
            "Subscription management for wireless and fibre ISPs. Every /api/v1 route needs "
            "`Authorization: Bearer <token>`. Errors are RFC 9457 problem+json. Events are "
            "described by the AsyncAPI document at /asyncapi."
        ),
        lifespan=lifespan,
    )
    problems.install(app)
    api = APIRouter(prefix="/api/v1", dependencies=[Depends(caller)])
    for router in directory.routers:
        api.include_router(router)
    api.include_router(imports.router)
    # Before subscriptions: `/subscriptions/export.csv` must not be taken for a subscription id.
    api.include_router(exports.router)
    api.include_router(subscriptions.router)
    for router in inner.routers:
        api.include_router(router)
    api.include_router(tabs.router)
    app.include_router(api)
    app.include_router(libreqos.router)
    app.include_router(system.router)
    web.install(app, settings)  # the admin pages, /static and their session cookie
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        upload_paths=(f"{api.prefix}/imports", web.UPLOAD_PATH),
    )
    app.add_middleware(QueryGuard)
    app.add_middleware(Unexpected)  # inside the figures, so that a 500 is counted too
    app.add_middleware(RequestFigures)
    return app
