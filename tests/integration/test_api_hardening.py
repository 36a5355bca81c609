"""Bad input is a 4xx naming what is wrong, an overloaded database a 503, and whatever no handler
expected a problem+json 500 that does not bring the connection down."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.subscription.api import subscriptions as routes
from services.subscription.app import create_app
from services.subscription.config import Settings
from tests.integration.conftest import ClientFactory, api_client

PROBLEM = "application/problem+json"


async def test_a_position_beyond_64_bits_is_refused(client_for: ClientFactory) -> None:
    http = await client_for()
    response = await http.get("/api/v1/subscriptions", params={"min_position": 2**64})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert "min_position" in response.text


async def test_a_position_never_handed_out_is_refused_at_once(client_for: ClientFactory) -> None:
    http = await client_for()
    response = await http.get("/api/v1/subscriptions", params={"min_position": 2**62})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["pointer"] == "/min_position"


@pytest.mark.parametrize(
    "query",
    [b"q=a%00b", b"q=%ff%fe", b"sort=%01name", b"cursor=%00", b"status=Active%0b"],
)
async def test_control_characters_in_a_query_are_refused(
    client_for: ClientFactory, query: bytes
) -> None:
    http = await client_for()
    response = await http.get("/api/v1/subscriptions?" + query.decode("ascii"))
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cursor=st.text(max_size=80), sort=st.text(max_size=20))
async def test_no_cursor_or_sort_makes_a_server_error(
    client_for: ClientFactory, cursor: str, sort: str
) -> None:
    http = await client_for()
    response = await http.get("/api/v1/subscriptions", params={"cursor": cursor, "sort": sort})
    assert response.status_code < 500, response.text


async def test_a_deep_body_sent_with_an_idempotency_key_is_refused_not_crashed(
    client_for: ClientFactory,
) -> None:
    http = await client_for()
    deep = "[" * 100_000 + "]" * 100_000
    response = await http.post(
        "/api/v1/contacts",
        content=deep,
        headers={"Content-Type": "application/json", "Idempotency-Key": "deep-1"},
    )
    assert 400 <= response.status_code < 500, response.text


async def test_an_unexpected_error_is_a_problem_with_a_correlation_id(
    client_for: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    http = await client_for()

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(routes.views, "list_subscriptions", broken)
    # ASGITransport raises what the app lets escape: answering is the whole test.
    response = await http.get("/api/v1/subscriptions")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    correlation_id = response.headers["x-correlation-id"]
    assert correlation_id in response.json()["detail"]
    monkeypatch.undo()
    assert (await http.get("/api/v1/subscriptions")).status_code == 200


async def test_a_pool_with_no_free_connection_answers_503(
    settings: Settings, client_for: ClientFactory
) -> None:
    tight = settings.model_copy(update={"pool_size": 2, "acquire_timeout": 0.2})
    app = create_app(tight)
    async with app.router.lifespan_context(app):
        held = [await app.state.pool.acquire() for _ in range(2)]
        try:
            token_client = await client_for()
            http = api_client(
                httpx.ASGITransport(app=app), token_client.headers["Authorization"][7:]
            )
            async with http:
                response = await http.get("/api/v1/subscriptions")
        finally:
            await asyncio.gather(*(app.state.pool.release(c) for c in held))
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"]


async def test_a_read_model_behind_past_the_bound_answers_503(
    settings: Settings, client_for: ClientFactory
) -> None:
    # No projection worker runs here: the read models stay where they are.
    impatient = settings.model_copy(update={"read_wait_seconds": 0.3})
    app = create_app(impatient)
    async with app.router.lifespan_context(app):
        token_client = await client_for()
        token = token_client.headers["Authorization"].removeprefix("Bearer ")
        async with api_client(httpx.ASGITransport(app=app), token) as http:
            created = await http.post("/api/v1/contacts", json={"name": "Behind"})
            position = created.json()["position"]
            response = await http.get("/api/v1/contacts", params={"min_position": position})
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"]
    assert response.headers["content-type"] == PROBLEM
