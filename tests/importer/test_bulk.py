"""Bulk changes through the API, carried out by the importer worker and the `commands` process.

Every process runs as `make run` starts it (tests/importer/conftest.py): the API resolves the
list's filter and stores the job, the importer sends the subscriptions in batches, the
`commands` process changes each one through the single routes' use case.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
import nats
import pytest

from contracts.bulk import BATCH_KIND_HEADER, BULK_KIND, BulkBatch, BulkBatchResult, BulkRow
from contracts.imports import BatchResult, CommandBatch, RowCheck, RowReferences
from contracts.subjects import commands_subject
from services.subscription.access import tokens
from tests.helpers import directory, until
from tests.importer.conftest import ImportSystem
from tests.integration.conftest import csrf_of
from tests.integration.test_command_auth import signed

pytestmark = pytest.mark.slow

BULK = "/api/v1/subscriptions/bulk"
FINISHED = ("completed", "failed")


async def create_many(
    http: httpx.AsyncClient, refs: dict[str, str], count: int, name: str
) -> list[dict[str, Any]]:
    """`count` Active subscriptions named `name n`, a few created at once."""
    gate = asyncio.Semaphore(8)

    async def one(n: int) -> dict[str, Any]:
        body = {**refs, "name": f"{name} {n}", "status": "Active"}
        async with gate:
            response = await http.post("/api/v1/subscriptions", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    return list(await asyncio.gather(*(one(n) for n in range(count))))


async def submitted(http: httpx.AsyncClient, body: dict[str, Any], **params: Any) -> str:
    response = await http.post(BULK, json=body, params=params)
    assert response.status_code == 202, response.text
    job_id = str(response.json()["job_id"])
    assert response.headers["location"] == f"{BULK}/{job_id}"
    return job_id


async def finished(http: httpx.AsyncClient, job_id: str, system: ImportSystem) -> dict[str, Any]:
    state: dict[str, Any] = {}

    async def done() -> dict[str, Any] | None:
        response = await http.get(f"{BULK}/{job_id}")
        assert response.status_code == 200, response.text
        state.update(response.json())
        return dict(state) if state["state"] in FINISHED else None

    def why() -> str:
        return f"bulk job {job_id} did not finish: {state}\n{system.tail('importer')}"

    return await until(done, 120, 0.2, why)


async def job_events(pool: asyncpg.Pool, tenant_id: str, job_id: str) -> list[asyncpg.Record]:
    return await pool.fetch(
        "select stream_id, type, metadata from events.events"
        " where tenant_id = $1 and metadata->>'import_id' = $2 order by position",
        tenant_id,
        job_id,
    )


async def test_a_status_change_over_a_filter_runs_to_completion_reporting_refused_rows(
    system: ImportSystem, http: httpx.AsyncClient, system_pool: asyncpg.Pool, tenant_id: str
) -> None:
    refs = await directory(http)
    made = await create_many(http, refs, 300, "Tower A")
    await create_many(http, refs, 5, "Elsewhere")  # outside the filter
    closed = made[:3]
    last = max(s["position"] for s in made)
    for sub in closed:
        response = await http.post(
            f"/api/v1/subscriptions/{sub['id']}/status", json={"status": "Cancelled"}
        )
        assert response.status_code == 200, response.text
        last = max(last, response.json()["position"])
    body = {
        "filter": {"q": "Tower A"},
        "action": {"type": "status", "status": "Suspended", "reason": "storm damage"},
    }
    job_id = await submitted(http, body, min_position=last)

    job = await finished(http, job_id, system)

    assert job["state"] == "completed", job
    assert job["rows_total"] == job["rows_processed"] == 300
    assert (job["rows_changed"], job["rows_unchanged"], job["rows_refused"]) == (297, 0, 3)
    assert job["action"] == body["action"]
    refused = {r["subscription_id"]: r for r in job["refused"]}
    assert set(refused) == {s["id"] for s in closed}
    assert all(refused[s["id"]]["unique_id"] == s["unique_id"] for s in closed)
    assert all("Cancelled" in r["reason"] or "closed" in r["reason"] for r in refused.values())

    listed = await http.get(
        "/api/v1/subscriptions",
        params={"status": "Suspended", "limit": 500, "min_position": job["position"]},
    )
    assert listed.status_code == 200, listed.text
    assert len(listed.json()["items"]) == 297

    changed = made[10]["id"]
    history = await http.get(
        f"/api/v1/subscriptions/{changed}/history", params={"min_position": job["position"]}
    )
    first = history.json()["items"][0]
    assert first["type"] == "subscription.status_changed"
    assert f"bulk job {job_id}" in first["summary"]
    events = await job_events(system_pool, tenant_id, job_id)
    assert len(events) == 297
    assert {e["metadata"]["actor"] for e in events} == {"importer-e2e"}


async def test_an_engineer_for_given_ids_reports_unknown_and_unchanged_ones(
    system: ImportSystem, http: httpx.AsyncClient, system_pool: asyncpg.Pool, tenant_id: str
) -> None:
    refs = await directory(http)
    other = await http.post("/api/v1/engineers", json={"name": "Bob Field"})
    engineer = other.json()["id"]
    made = await create_many(http, refs, 4, "Mast")
    moved = await http.post(
        f"/api/v1/subscriptions/{made[0]['id']}/engineer", json={"engineer_id": engineer}
    )
    assert moved.status_code == 200
    unknown = str(uuid.uuid4())
    ids = [s["id"] for s in made] + [unknown, made[1]["id"]]  # a repeat counts once
    job_id = await submitted(
        http,
        {"subscription_ids": ids, "action": {"type": "engineer", "engineer_id": engineer}},
        min_position=other.json()["position"],
    )

    job = await finished(http, job_id, system)

    assert job["state"] == "completed", job
    assert job["rows_total"] == 5
    assert (job["rows_changed"], job["rows_unchanged"], job["rows_refused"]) == (3, 1, 1)
    assert [r["subscription_id"] for r in job["refused"]] == [unknown]
    assert job["refused"][0]["unique_id"] is None and "not found" in job["refused"][0]["reason"]
    assert len(await job_events(system_pool, tenant_id, job_id)) == 3

    # The same batch sent again (a lost reply, a restarted worker) applies nothing twice.
    await system_pool.execute("update imports.jobs set state = 'running' where id = $1", job_id)
    rows = [BulkRow(seq=n, subscription_id=uuid.UUID(i)) for n, i in enumerate(ids[:5], 1)]
    batch = BulkBatch(
        job_id=uuid.UUID(job_id),
        tenant_id=tenant_id,
        actor="importer-e2e",
        action={"type": "engineer", "engineer_id": engineer},
        rows=rows,
    )
    data = batch.model_dump_json().encode()
    nc = await nats.connect(system.env["NATS_URL"])
    try:
        reply = await nc.request(
            commands_subject(system.env["WISPGATE_NAMESPACE"]),
            data,
            timeout=30,
            headers={**signed(data), BATCH_KIND_HEADER: BULK_KIND},
        )
        # An import's batch naming the bulk job is not the job's: refused.
        imported = (
            CommandBatch(
                import_id=uuid.UUID(job_id),
                tenant_id=tenant_id,
                actor="importer-e2e",
                checks=[RowCheck(row=2, references=RowReferences(contact="x"))],
            )
            .model_dump_json()
            .encode()
        )
        other = await nc.request(
            commands_subject(system.env["WISPGATE_NAMESPACE"]),
            imported,
            timeout=30,
            headers=signed(imported),
        )
    finally:
        await nc.drain()
    assert "unknown" in (BatchResult.model_validate_json(other.data).error or "")
    again = BulkBatchResult.model_validate_json(reply.data)
    assert again.error is None, again.error
    outcomes = [r.outcome for r in again.results]
    assert outcomes == ["unchanged", "changed", "changed", "changed", "refused"]
    assert len(await job_events(system_pool, tenant_id, job_id)) == 3


async def test_bulk_refuses_read_tokens_and_hostile_bodies(
    system: ImportSystem, http: httpx.AsyncClient, system_pool: asyncpg.Pool, tenant_id: str
) -> None:
    refs = await directory(http)
    made = await create_many(http, refs, 2, "Dish")
    token, _ = await tokens.create(system_pool, "reader", tenant_id, "read")
    status = {"type": "status", "status": "Suspended", "reason": "unpaid"}
    reader = {"Authorization": f"Bearer {token}"}
    response = await http.post(
        BULK, json={"subscription_ids": [made[0]["id"]], "action": status}, headers=reader
    )
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")

    hostile: list[tuple[Any, str]] = [
        ({"action": status}, "/filter"),
        ({"subscription_ids": [made[0]["id"]], "filter": {}, "action": status}, "/filter"),
        ({"subscription_ids": [], "action": status}, "/subscription_ids"),
        ({"subscription_ids": ["nope"], "action": status}, "/subscription_ids/0"),
        ({"filter": {"status": ["Gone"]}, "action": status}, "/filter/status/0"),
        ({"filter": {"colour": "red"}, "action": status}, "/filter/colour"),
        ({"filter": {"q": "no such name anywhere"}, "action": status}, "/filter"),
        ({"filter": {}, "action": {"type": "delete"}}, "/action"),
        ({"filter": {}, "action": {**status, "status": "Sleeping"}}, "/action/status/status"),
        ({"filter": {}, "action": {"type": "status", "status": "Active"}}, "/action/status/reason"),
        ({"filter": {}, "action": {**status, "reason": "x" * 501}}, "/action/status/reason"),
        ({"filter": {}, "action": {**status, "reason": "a\x00b"}}, "/action/status/reason"),
        (
            {"filter": {}, "action": {"type": "engineer", "engineer_id": str(uuid.uuid4())}},
            "/action/engineer_id",
        ),
        ({"filter": {}, "action": status, "extra": 1}, "/extra"),
        ({"subscription_ids": [str(uuid.uuid4())] * 10_001, "action": status}, "/subscription_ids"),
    ]
    for body, pointer in hostile:
        response = await http.post(BULK, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        pointers = [e["pointer"] for e in response.json()["errors"]]
        assert pointer in pointers, (body, pointers)
    assert (await http.post(BULK, json=[1, 2])).status_code == 422
    bad_json = await http.post(
        BULK, content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert bad_json.status_code in (400, 422)
    assert (await http.get(f"{BULK}/{uuid.uuid4()}")).status_code == 404
    queued = await submitted(http, {"subscription_ids": [made[0]["id"]], "action": status})
    assert (await http.get(f"/api/v1/imports/{queued}")).status_code == 404
    assert (await http.get(f"{BULK}/not-a-uuid")).status_code == 422


async def pages_of(
    base_url: str, pool: asyncpg.Pool, tenant_id: str, role: str
) -> httpx.AsyncClient:
    """A client of the running API's pages, signed in with a fresh token of the tenant."""
    token, _ = await tokens.create(pool, f"staff-{role}", tenant_id, role)  # type: ignore[arg-type]
    client = httpx.AsyncClient(base_url=base_url, timeout=30)
    login = await client.get("/login")
    signed_in = await client.post("/login", data={"csrf_token": csrf_of(login), "token": token})
    assert signed_in.status_code == 303, signed_in.text
    return client


async def test_the_list_page_runs_a_bulk_change_to_its_job_page(
    system: ImportSystem, http: httpx.AsyncClient, system_pool: asyncpg.Pool, tenant_id: str
) -> None:
    refs = await directory(http)
    made = await create_many(http, refs, 60, "Pole")
    cancelled = await http.post(
        f"/api/v1/subscriptions/{made[0]['id']}/status", json={"status": "Cancelled"}
    )
    last = max([cancelled.json()["position"], *(s["position"] for s in made)])
    await until(lambda: _listed(http, "Pole", last), 30, 0.1, "the list never showed the rows")
    admin = await pages_of(system.base_url, system_pool, tenant_id, "admin")
    reader = await pages_of(system.base_url, system_pool, tenant_id, "read")
    try:
        page = await admin.get("/admin/subscriptions", params={"q": "Pole"})
        assert page.status_code == 200
        assert 'id="bulk-form"' in page.text
        assert page.text.count('name="subscription_ids"') == 50  # one page of rows
        assert '<strong id="bulk-matching">60</strong> matching this filter' in page.text

        form = {"scope": "filter", "filter_q": "Pole", "action": "status", "status": "Suspended"}
        refused = await admin.post(
            "/admin/bulk", data={"csrf_token": csrf_of(page), **form, "reason": " "}
        )
        assert refused.status_code == 422
        assert 'id="bulk-reason-error"' in refused.text
        assert 'value="filter" checked' in refused.text  # the selection is kept
        nothing = await admin.post(
            "/admin/bulk",
            data={"csrf_token": csrf_of(page), **form, "scope": "selected", "reason": "storm"},
        )
        assert nothing.status_code == 422 and 'id="bulk-scope-error"' in nothing.text

        sent = await admin.post(
            "/admin/bulk", data={"csrf_token": csrf_of(page), **form, "reason": "storm"}
        )
        assert sent.status_code == 303, sent.text
        location = sent.headers["location"]
        job_id = location.rsplit("/", 1)[1]

        async def over() -> httpx.Response | None:
            shown = await admin.get(location)
            assert shown.status_code == 200
            return shown if "Refresh" not in shown.headers else None

        done = await until(over, 60, 0.2, f"bulk job {job_id} never finished")
        assert '<strong id="bulk-state">completed</strong>' in done.text
        assert '<strong id="bulk-changed">59</strong>' in done.text
        assert '<strong id="bulk-refused">1</strong>' in done.text
        assert made[0]["unique_id"] in done.text and "Refused subscriptions" in done.text
        assert "Change status to Suspended (reason: storm)" in done.text

        listed = await reader.get("/admin/subscriptions", params={"q": "Pole"})
        assert listed.status_code == 200 and 'id="bulk-form"' not in listed.text
        assert 'name="subscription_ids"' not in listed.text
        forbidden = await reader.post(
            "/admin/bulk", data={"csrf_token": csrf_of(listed), **form, "reason": "storm"}
        )
        assert forbidden.status_code == 403
        assert (await reader.get(location)).status_code == 200  # a reader may follow it
    finally:
        await admin.aclose()
        await reader.aclose()


async def _listed(http: httpx.AsyncClient, q: str, position: int) -> bool:
    response = await http.get("/api/v1/subscriptions", params={"q": q, "min_position": position})
    return response.status_code == 200


async def test_a_killed_worker_resumes_a_bulk_job_and_changes_nothing_twice(
    system: ImportSystem, http: httpx.AsyncClient, system_pool: asyncpg.Pool, tenant_id: str
) -> None:
    refs = await directory(http)
    total = 1500
    made = await create_many(http, refs, total, "Killed")
    action = {"type": "status", "status": "Inactive", "reason": "migration"}
    job_id = await submitted(
        http,
        {"filter": {"q": "Killed"}, "action": action},
        min_position=max(s["position"] for s in made),
    )

    async def under_way() -> bool:
        state = (await http.get(f"{BULK}/{job_id}")).json()
        assert state["state"] != "completed", "the job was done before the worker was killed"
        return bool(state["rows_processed"] >= 250)

    await until(under_way, 60, 0.02)
    system.restart("importer")

    job = await finished(http, job_id, system)
    assert job["state"] == "completed", job
    assert (job["rows_processed"], job["rows_changed"], job["rows_refused"]) == (total, total, 0)
    events = await job_events(system_pool, tenant_id, job_id)
    assert len(events) == total
    assert len({e["stream_id"] for e in events}) == total
