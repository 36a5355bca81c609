"""HTTP in; the broker and the read models out, polled with a deadline."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import nats
import pytest

from contracts.events import EVENT_TYPES
from contracts.subjects import event_subject, events_stream, tenant_events
from tests.helpers import directory

ENVELOPE_KEYS = {
    "event_id", "type", "schema_version", "tenant_id", "stream_id", "stream_type",
    "version", "position", "occurred_at", "metadata", "data",
}  # fmt: skip
METADATA_KEYS = {"actor", "correlation_id", "causation_id", "idempotency_key", "import_id"}


async def _broker_messages(
    nats_url: str, namespace: str, tenant_id: str, expected: int, deadline: float = 10
) -> list[Any]:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        sub = await js.subscribe(
            tenant_events(namespace, tenant_id),
            stream=events_stream(namespace),
            ordered_consumer=True,
        )
        got: list[Any] = []
        end = time.monotonic() + deadline
        while len(got) < expected and time.monotonic() < end:
            try:
                got.append(await sub.next_msg(timeout=max(0.1, end - time.monotonic())))
            except nats.errors.TimeoutError:
                break
        await sub.unsubscribe()
        return got
    finally:
        await nc.close()


async def test_a_subscription_travels_from_http_to_broker_and_read_model(
    http: httpx.AsyncClient, nats_url: str, namespace: str, tenant_id: str
) -> None:
    refs = await directory(http)
    created = (
        await http.post(
            "/api/v1/subscriptions",
            json={**refs, "name": "Farmhouse 50M", "status": "Active", "description": "barn"},
        )
    ).json()
    url = f"/api/v1/subscriptions/{created['id']}"
    moved = await http.post(f"{url}/status", json={"status": "Suspended", "reason": "unpaid"})
    position = moved.json()["position"]

    listed = await http.get(
        "/api/v1/subscriptions", params={"min_position": position, "q": "farmhouse"}
    )
    assert listed.status_code == 200
    [item] = listed.json()["items"]
    assert item["unique_id"] == created["unique_id"]
    assert item["status"] == "Suspended"
    assert item["contact"] == {"id": refs["contact_id"], "name": "Jane Doe"}
    assert item["organization"] == {"id": refs["organization_id"], "name": "Acme Farms"}
    assert item["engineer"] == {"id": refs["engineer_id"], "name": "Alice Ng"}
    assert item["service_contract"] == {
        "id": refs["service_contract_id"], "number": "SC-1", "title": "Rural 50",
    }  # fmt: skip
    assert item["notification_level"] == "Now"

    summary = await http.get(url, params={"min_position": position})
    assert summary.headers["etag"] == '"2"'
    assert summary.json()["counts"] == {"services": 0, "hotspots": 0, "devices": 0}

    history = (await http.get(f"{url}/history", params={"min_position": position})).json()
    assert [h["type"] for h in history["items"]] == [
        "subscription.status_changed",
        "subscription.created",
    ]
    assert "Suspended" in history["items"][0]["summary"]
    assert "unpaid" in history["items"][0]["summary"]

    messages = await _broker_messages(nats_url, namespace, tenant_id, expected=6)
    subjects = [m.subject for m in messages]
    assert event_subject(namespace, tenant_id, "subscription.status_changed") in subjects
    for message in messages:
        envelope = json.loads(message.data)
        assert set(envelope) == ENVELOPE_KEYS
        assert set(envelope["metadata"]) == METADATA_KEYS
        assert message.headers["Nats-Msg-Id"] == envelope["event_id"]
        assert message.subject == event_subject(namespace, tenant_id, envelope["type"])


async def test_a_min_position_never_handed_out_answers_422_at_once(
    http: httpx.AsyncClient,
) -> None:
    # Waiting for it could only end at the bound: the store has not come that far.
    response = await http.get("/api/v1/subscriptions", params={"min_position": 10**12})
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/min_position"
    assert response.headers["content-type"] == "application/problem+json"


async def test_list_filters_sorts_and_pages(http: httpx.AsyncClient) -> None:
    refs = await directory(http)
    other_engineer = (await http.post("/api/v1/engineers", json={"name": "Bob Li"})).json()["id"]
    last = 0
    for i, status in enumerate(["Active", "Inactive", "Suspended", "Active", "Completed"]):
        body = {**refs, "name": f"Site {i}", "status": status}
        if i == 4:
            body["engineer_id"] = other_engineer
        last = (await http.post("/api/v1/subscriptions", json=body)).json()["position"]

    async def ids(**params: Any) -> list[str]:
        response = await http.get("/api/v1/subscriptions", params={"min_position": last, **params})
        assert response.status_code == 200, response.text
        return [i["name"] for i in response.json()["items"]]

    assert await ids(sort="name") == [f"Site {i}" for i in range(5)]
    assert await ids(sort="-unique_id") == [f"Site {i}" for i in reversed(range(5))]
    assert await ids(status="Active", sort="name") == ["Site 0", "Site 3"]
    assert await ids(status=["Active", "Inactive"], sort="name") == ["Site 0", "Site 1", "Site 3"]
    assert await ids(engineer_id=other_engineer) == ["Site 4"]
    assert await ids(q="site 3") == ["Site 3"]
    pages, cursor = [], None
    while True:
        params = {"limit": 2, "sort": "name", **({"cursor": cursor} if cursor else {})}
        body = (await http.get("/api/v1/subscriptions", params=params)).json()
        pages.append([i["name"] for i in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == [["Site 0", "Site 1"], ["Site 2", "Site 3"], ["Site 4"]]


async def test_directory_lists_and_renames_reach_the_subscription_list(
    http: httpx.AsyncClient,
) -> None:
    refs = await directory(http)
    created = (
        await http.post("/api/v1/subscriptions", json={**refs, "name": "x", "status": "Active"})
    ).json()
    renamed = await http.patch(f"/api/v1/contacts/{refs['contact_id']}", json={"name": "Jane Roe"})
    position = renamed.json()["position"]
    summary = await http.get(
        f"/api/v1/subscriptions/{created['id']}", params={"min_position": position}
    )
    assert summary.json()["contact"]["name"] == "Jane Roe"
    contacts = await http.get("/api/v1/contacts", params={"min_position": position})
    assert [c["name"] for c in contacts.json()["items"]] == ["Jane Roe"]


async def test_asyncapi_lists_every_event_type_as_a_channel(system: Any, namespace: str) -> None:
    async with httpx.AsyncClient(base_url=system.base_url) as anonymous:
        document = (await anonymous.get("/asyncapi.json")).json()
        page = await anonymous.get("/asyncapi")
    addresses = {channel["address"] for channel in document["channels"].values()}
    for event_type in EVENT_TYPES:
        assert event_subject(namespace, "{tenant_id}", event_type) in addresses
    assert page.status_code == 200
    assert "asyncapi/try" not in page.text


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/docs", "/openapi.json"])
async def test_open_routes(system: Any, path: str) -> None:
    async with httpx.AsyncClient(base_url=system.base_url) as anonymous:
        assert (await anonymous.get(path)).status_code == 200


async def test_metrics_need_a_token_outside_development(
    system: Any, http: httpx.AsyncClient
) -> None:
    async with httpx.AsyncClient(base_url=system.base_url) as anonymous:
        assert (await anonymous.get("/metrics")).status_code == 401
    text = (await http.get("/metrics")).text
    assert "wispgate_relay_lag_events" in text
    assert "wispgate_projection_lag_events" in text
