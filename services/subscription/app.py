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
    billing,
    bulk,
    directory,
    exports,
    imports,
    inner,
    libreqos,
    plans,
    problems,
    radius,
    subscriptions,
    system,
    tabs,
)
from services.subscription.api.auth import caller
from services.subscription.api.calls import declare_headers
from services.subscription.api.middleware import Edge
from services.subscription.config import Settings, get_settings
from services.subscription.publishing.hints import AppendHints
from services.subscription.read.freshness import Freshness
from services.subscription.usecases.bootstrap import bootstrap

API_PREFIX = "/api/v1"


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
        # The request figures are Prometheus's (/metrics); FastAPI's own OpenTelemetry would
        # look up three global providers on every request to find that none is configured.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    problems.install(app)
    # Each API router is included in the app itself, not in an /api/v1 router included in turn:
    # FastAPI matches an included router's routes again at every level of nesting, per request.
    routers = api_routers()
    declare_headers(routers)
    for router in routers:
        app.include_router(router, prefix=API_PREFIX, dependencies=[Depends(caller)])
    app.include_router(libreqos.router)
    app.include_router(system.router)
    web.install(app, settings)  # the admin pages, /static and their session cookie
    app.add_middleware(
        Edge,
        max_bytes=settings.max_body_bytes,
        upload_paths=(f"{API_PREFIX}/imports", web.UPLOAD_PATH),
    )
    return app


def api_routers() -> list[APIRouter]:
    """The routers of /api/v1, in the order their paths are tried: the subscriptions, most
    requested, first (each router before the one asked costs a scan of its routes)."""
    return [
        # Before subscriptions: `/subscriptions/export.csv` must not be taken for a subscription id.
        exports.router,
        bulk.router,  # likewise `/subscriptions/bulk/{job_id}`
        subscriptions.router,
        *inner.routers,
        plans.service_plan,
        tabs.router,
        *directory.routers,
        plans.router,
        *billing.routers,
        imports.router,
        *radius.routers,
    ]
