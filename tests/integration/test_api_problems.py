"""Bad input gets problem+json naming the field, never a 500, and loses nothing."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.helpers import directory

PROBLEM = "application/problem+json"


async def _assert_problem(
    response: httpx.Response, status: int, pointer: str | None = None
) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["title"] and body["type"] and body["detail"]
    if pointer is not None:
        assert pointer in [e["pointer"] for e in body["errors"]], body


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"name": ""}, "/name"),
        ({"name": "   "}, "/name"),
        ({"name": None}, "/name"),
        ({"status": "Paused"}, "/status"),
        ({"status": 3}, "/status"),
        ({"contact_id": "not-a-uuid"}, "/contact_id"),
        ({"contact_id": str(uuid.uuid4())}, "/contact_id"),
        ({"organization_id": str(uuid.uuid4())}, "/organization_id"),
        ({"engineer_id": str(uuid.uuid4())}, "/engineer_id"),
        ({"service_contract_id": str(uuid.uuid4())}, "/service_contract_id"),
        ({"colour": "red"}, "/colour"),
        ({"description": ["a", "list"]}, "/description"),
    ],
)
async def test_bad_create_bodies(api: httpx.AsyncClient, change: dict, pointer: str) -> None:
    refs = await directory(api)
    body = {**refs, "name": "Home", "status": "Active", **change}
    await _assert_problem(await api.post("/api/v1/subscriptions", json=body), 422, pointer)


async def test_missing_required_fields_are_named(api: httpx.AsyncClient) -> None:
    response = await api.post("/api/v1/subscriptions", json={})
    await _assert_problem(response, 422)
    pointers = {e["pointer"] for e in response.json()["errors"]}
    assert {"/contact_id", "/name", "/status", "/engineer_id"} <= pointers


@pytest.mark.parametrize(
    "raw", [b"{", b"not json", b"[1, 2]", b'"text"', b"\xff\xfe", b'{"name": "a",}', b""]
)
async def test_malformed_json(api: httpx.AsyncClient, raw: bytes) -> None:
    response = await api.post(
        "/api/v1/contacts", content=raw, headers={"content-type": "application/json"}
    )
    await _assert_problem(response, 422)


async def test_body_over_one_mebibyte_is_413(api: httpx.AsyncClient) -> None:
    big = {"name": "x" * (1024 * 1024 + 10)}
    await _assert_problem(await api.post("/api/v1/contacts", json=big), 413)


async def test_unknown_ids_are_404(api: httpx.AsyncClient) -> None:
    missing = uuid.uuid4()
    await _assert_problem(
        await api.post(f"/api/v1/subscriptions/{missing}/status", json={"status": "Active"}), 404
    )
    await _assert_problem(await api.patch(f"/api/v1/contacts/{missing}", json={"name": "x"}), 404)
    await _assert_problem(await api.get(f"/api/v1/subscriptions/{missing}"), 404)


async def test_bad_query_parameters(api: httpx.AsyncClient) -> None:
    await _assert_problem(await api.get("/api/v1/subscriptions?sort=colour"), 422, "/sort")
    await _assert_problem(await api.get("/api/v1/subscriptions?limit=501"), 422, "/limit")
    await _assert_problem(await api.get("/api/v1/subscriptions?cursor=zzz"), 422, "/cursor")
    await _assert_problem(await api.get("/api/v1/subscriptions?status=Paused"), 422, "/status")


async def test_service_contract_dates(api: httpx.AsyncClient) -> None:
    body = {"number": "C-9", "title": "x", "starts_on": "2026-05-01", "ends_on": "2026-04-01"}
    await _assert_problem(await api.post("/api/v1/service-contracts", json=body), 422, "/ends_on")
    body["ends_on"] = "someday"
    await _assert_problem(await api.post("/api/v1/service-contracts", json=body), 422, "/ends_on")
