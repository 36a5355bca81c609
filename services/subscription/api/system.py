"""Health, readiness, metrics and the AsyncAPI document: the routes outside /api/v1."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import nats
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from faststream.nats import NatsBroker
from faststream.specification import AsyncAPI
from faststream.specification.asyncapi.site import get_asyncapi_html
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest

from contracts.events import EVENT_TYPES, envelope_model
from contracts.subjects import event_subject, events_stream
from plumbing.broker import HEARTBEAT, servers
from services.subscription.api.auth import caller
from services.subscription.api.problems import problem_response
from services.subscription.publishing.relay import relay_lag
from services.subscription.read import health

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

RELAY_BEHIND = Gauge("wispgate_relay_lag_events", "Stored events not yet on the broker")
RELAY_SECONDS = Gauge("wispgate_relay_lag_seconds", "Age of the oldest unpublished event")
PROJECTION_BEHIND = Gauge(
    "wispgate_projection_lag_events", "Events not yet applied", ["projection"]
)
PROJECTION_SECONDS = Gauge(
    "wispgate_projection_lag_seconds", "Age of the oldest unapplied event", ["projection"]
)
DEAD = Gauge("wispgate_dead_letters", "Events a consumer gave up on", ["consumer"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Ready when PostgreSQL answers with the schema in place and NATS holds the stream."""
    checks = {"postgres": await _postgres(request), "nats": await _nats(request)}
    if all(value == "ok" for value in checks.values()):
        return JSONResponse({"status": "ready", "checks": checks})
    failing = ", ".join(f"{name}: {value}" for name, value in checks.items() if value != "ok")
    response = problem_response(503, f"not ready ({failing})", slug="not-ready")
    response.headers["Retry-After"] = "1"
    return response


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """Prometheus figures: relay and projection lag, dead letters, requests."""
    if request.app.state.settings.env != "development":
        await caller(request)  # outside development, any valid token of the deployment
    pool = request.app.state.pool
    async with pool.acquire() as conn:
        behind, seconds = await relay_lag(conn, request.app.state.settings.namespace)
        RELAY_BEHIND.set(behind)
        RELAY_SECONDS.set(seconds)
        for projection, (events, age) in (await health.projection_lag(conn)).items():
            PROJECTION_BEHIND.labels(projection).set(events)
            PROJECTION_SECONDS.labels(projection).set(age)
        for projection, count in (await health.dead_letter_counts(conn)).items():
            DEAD.labels(projection).set(count)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get("/asyncapi.json")
async def asyncapi_json(request: Request) -> Response:
    """The AsyncAPI document: one channel per event type."""
    return Response(request.app.state.asyncapi.to_json(), media_type="application/json")


@router.get("/asyncapi")
async def asyncapi_html(request: Request) -> HTMLResponse:
    """The AsyncAPI document for people (no "try it": nothing can be sent from here)."""
    return HTMLResponse(get_asyncapi_html(request.app.state.asyncapi, try_it_out_path=None))


def asyncapi_document(namespace: str, version: str) -> Any:
    """Every event type as a channel `{ns}.events.{tenant_id}.{type}`, carrying its envelope."""
    broker = NatsBroker()
    for event_type, model in EVENT_TYPES.items():
        broker.publisher(
            event_subject(namespace, "{tenant_id}", event_type),
            title=event_type,
            description=(model.__doc__ or f"`{event_type}` events").strip()
            + f" Stream `{events_stream(namespace)}`; header Nats-Msg-Id = event_id.",
            schema=envelope_model(event_type),
        )
    spec = AsyncAPI(
        broker,
        title="WISPGate subscription events",
        version=version,
        description="Events published by the subscription service, one envelope each.",
    )
    return spec.to_specification()


async def _postgres(request: Request) -> str:
    try:
        async with asyncio.timeout(2):
            present = await health.schema_present(request.app.state.pool)
        return "ok" if present else "schema missing"
    except Exception as exc:
        return f"unreachable ({type(exc).__name__})"


async def _nats(request: Request) -> str:
    state = request.app.state
    try:
        async with asyncio.timeout(2):
            if state.nats is None or state.nats.is_closed:
                state.nats = await nats.connect(
                    servers=servers(state.settings.nats_url),
                    connect_timeout=1,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    **HEARTBEAT,
                )
            if not state.nats.is_connected:
                return "reconnecting"
            await state.nats.jetstream().stream_info(events_stream(state.settings.namespace))
        return "ok"
    except nats.js.errors.NotFoundError:
        return "stream missing"
    except Exception as exc:
        return f"unreachable ({type(exc).__name__})"
