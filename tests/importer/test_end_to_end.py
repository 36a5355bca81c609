"""Uploads through the API, imported by the worker process, read back from the list.

Every process runs as `make run` starts it; the importer is killed with SIGKILL mid-file in one
test and must finish the job on restart without creating any row twice.
"""

from __future__ import annotations

import io
import signal
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from openpyxl import load_workbook

from contracts.spreadsheet import neutralise
from tests.conftest import tenant
from tests.helpers import admin_client, directory, until
from tests.importer.conftest import ImportSystem
from tests.importer.workbooks import HEADERS, package, xlsx

pytestmark = pytest.mark.slow

FINISHED = ("completed", "failed")


# The directory the spreadsheets' rows refer to, by name, email, number or title.
NAMED = {
    "contact_id": {"name": "Ada Lovelace", "email": "ada@example.com"},
    "organization_id": {"name": "Acme"},
    "engineer_id": {"name": "Grace Hopper", "email": "grace@example.com"},
    "service_contract_id": {"number": "SC-1", "title": "Fibre 100"},
}


def rows(count: int, prefix: str = "Customer") -> list[list[Any]]:
    return [
        ["", f"{prefix} {n}", "ada@example.com", "Acme", "Active", "Grace Hopper", "SC-1", ""]
        for n in range(count)
    ]


async def upload(http: httpx.AsyncClient, content: bytes, dry_run: bool = False) -> str:
    data = {"dry_run": "true"} if dry_run else {}
    response = await http.post(
        "/api/v1/imports", files={"file": ("customers.xlsx", content)}, data=data
    )
    assert response.status_code == 202, response.text
    return str(response.json()["import_id"])


async def job(http: httpx.AsyncClient, import_id: str) -> dict[str, Any]:
    response = await http.get(f"/api/v1/imports/{import_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def finished(
    http: httpx.AsyncClient, import_id: str, system: ImportSystem, deadline: float = 90
) -> dict[str, Any]:
    """The job's state once it is finished (on failure, the importer's log)."""
    state: dict[str, Any] = {}

    async def done() -> dict[str, Any] | None:
        state.update(await job(http, import_id))
        return dict(state) if state["state"] in FINISHED else None

    def why() -> str:
        return f"import {import_id} did not finish: {state}\n{system.tail('importer')}"

    return await until(done, deadline, 0.1, why)


async def under_way(http: httpx.AsyncClient, import_id: str, rows: int) -> bool:
    """The job has processed `rows` rows; short of them, it must not be finished."""
    state = await job(http, import_id)
    if state["rows_processed"] >= rows:
        return True
    assert state["state"] not in FINISHED, state
    return False


async def listed(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = (await http.get("/api/v1/subscriptions", params=params)).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


async def test_an_import_lands_in_the_list_and_twice_creates_nothing(
    system: ImportSystem, http: httpx.AsyncClient
) -> None:
    ids = await directory(http, **NAMED)
    content = xlsx([HEADERS, ["SUB-900", "Fibre home", "Ada Lovelace", "Acme", "active",
                              "grace@example.com", "Fibre 100", "first"], *rows(20)])  # fmt: skip
    first = await finished(http, await upload(http, content), system)
    assert first["state"] == "completed", first
    assert (first["rows_total"], first["rows_created"], first["rows_failed"]) == (21, 21, 0)
    assert first["position"] > 0
    # Completed means visible: the list holds the rows without waiting.
    items = {item["name"]: item for item in await listed(http)}
    assert len(items) == 21
    home = items["Fibre home"]
    assert (home["unique_id"], home["status"], home["description"]) == (
        "SUB-900",
        "Active",
        "first",
    )
    assert home["contact"]["id"] == ids["contact_id"]
    assert home["organization"]["id"] == ids["organization_id"]
    assert home["engineer"]["id"] == ids["engineer_id"]
    assert home["service_contract"]["id"] == ids["service_contract_id"]

    again = await finished(http, await upload(http, content), system)
    assert again["state"] == "completed", again
    assert (again["rows_created"], again["rows_skipped"], again["rows_processed"]) == (0, 21, 21)
    assert len(await listed(http)) == 21


async def test_failed_rows_are_reported_and_the_others_imported(
    system: ImportSystem, http: httpx.AsyncClient
) -> None:
    await directory(http, **NAMED)
    content = xlsx(
        [
            HEADERS,
            ["", "Good", "Ada Lovelace", "", "Active", "Grace Hopper", "", ""],
            ["", "Nobody's", "Nobody", "", "Active", "Grace Hopper", "", ""],
            ["", "Paused", "Ada Lovelace", "", "Paused", "Grace Hopper", "", ""],
        ]
    )
    state = await finished(http, await upload(http, content), system)
    assert state["state"] == "completed", state
    assert (state["rows_created"], state["rows_failed"]) == (1, 2)
    assert [(e["row"], e["column"]) for e in state["errors"]] == [(3, "Contact"), (4, "Status")]
    assert [item["name"] for item in await listed(http)] == ["Good"]

    report = await http.get(f"/api/v1/imports/{state['id']}/errors.xlsx")
    assert report.status_code == 200
    sheet = load_workbook(io.BytesIO(report.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:8] == tuple(HEADERS)
    assert [r[1] for r in values[1:]] == ["Nobody's", "Paused"]


async def test_a_dry_run_appends_nothing(system: ImportSystem, http: httpx.AsyncClient) -> None:
    await directory(http, **NAMED)
    state = await finished(
        http, await upload(http, xlsx([HEADERS, *rows(5)]), dry_run=True), system
    )
    assert state["state"] == "completed", state
    assert (state["dry_run"], state["rows_created"], state["position"]) == (True, 5, 0)
    assert await listed(http) == []


async def test_a_hostile_file_fails_the_job_with_its_reason(
    system: ImportSystem, http: httpx.AsyncClient
) -> None:
    bomb = package("<sheetData/>", extra={"xl/media/filler.bin": bytes(8 * 1024 * 1024)})
    state = await finished(http, await upload(http, bomb), system)
    assert state["state"] == "failed"
    assert state["message"].startswith("xl/media/filler.bin unpacks ")
    assert state["message"].endswith("it looks like a zip bomb.")


async def test_a_job_without_a_wake_up_is_found_by_polling(
    system: ImportSystem, http: httpx.AsyncClient, system_pool: asyncpg.Pool, tenant_id: str
) -> None:
    await directory(http, **NAMED)
    job_id = uuid.uuid4()
    content = xlsx([HEADERS, *rows(3)])
    async with system_pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "insert into imports.jobs (id, tenant_id, actor, file_size) values ($1, $2, 'sql', $3)",
            job_id, tenant_id, len(content),
        )  # fmt: skip
        await conn.execute("insert into imports.files values ($1, $2)", job_id, content)
    state = await finished(http, str(job_id), system)
    assert (state["state"], state["rows_created"]) == ("completed", 3)


async def test_a_killed_worker_resumes_and_creates_nothing_twice(
    system: ImportSystem, http: httpx.AsyncClient, system_pool: asyncpg.Pool, tenant_id: str
) -> None:
    await directory(http, **NAMED)
    total = 3000
    import_id = await upload(http, xlsx([HEADERS, *rows(total, "Killed")]))
    await until(lambda: under_way(http, import_id, 100), 60, 0.02)
    system.restart("importer")
    state = await job(http, import_id)
    assert state["rows_processed"] < total, "the file was done before the worker was killed"

    state = await finished(http, import_id, system)
    assert state["state"] == "completed", state
    assert (state["rows_created"], state["rows_processed"], state["rows_failed"]) == (
        total,
        total,
        0,
    )
    names = await system_pool.fetch(
        "select name, count(*) from read.subscriptions where tenant_id = $1 group by name",
        tenant_id,
    )
    assert len(names) == total
    assert {row["count"] for row in names} == {1}


async def test_round_trip_from_an_export_into_another_tenant(
    system: ImportSystem, http: httpx.AsyncClient, system_pool: asyncpg.Pool
) -> None:
    await directory(http, **NAMED)
    formula_like = "=not a formula, a note"
    first = ["SUB-77", "Round trip", "Ada Lovelace", "Acme", "Suspended", "Grace Hopper", "SC-1"]
    content = xlsx([HEADERS, [*first, neutralise(formula_like)], *rows(3)])
    assert (await finished(http, await upload(http, content), system))["state"] == "completed"
    exported = await http.get("/api/v1/subscriptions/export.xlsx")
    assert exported.status_code == 200, exported.text

    async with admin_client(system.base_url, system_pool, tenant(), "importer-e2e") as other:
        await directory(other, **NAMED)
        state = await finished(other, await upload(other, exported.content), system)
        assert state["state"] == "completed", state
        assert state["rows_created"] == 4

        def shown(items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
            return sorted(
                (
                    i["name"], i["unique_id"], i["status"], i["description"],
                    i["contact"]["name"], i["organization"]["name"], i["engineer"]["name"],
                    i["service_contract"]["number"],
                )
                for i in items
            )  # fmt: skip

        assert shown(await listed(other)) == shown(await listed(http))
    assert ("Round trip", formula_like) in {(i[0], i[3]) for i in shown(await listed(http))}


async def test_a_stopped_worker_hands_its_job_back(
    system: ImportSystem, http: httpx.AsyncClient, system_pool: asyncpg.Pool
) -> None:
    await directory(http, **NAMED)
    total = 3000
    import_id = await upload(http, xlsx([HEADERS, *rows(total, "Stopped")]))
    await until(lambda: under_way(http, import_id, 100), 60, 0.02)
    system.restart("importer", signal.SIGTERM)
    state = await job(http, import_id)
    assert state["rows_processed"] < total, "the file was done before the worker was stopped"
    state = await finished(http, import_id, system)
    assert (state["state"], state["rows_created"]) == ("completed", total)
    # Handed back on purpose: the stop did not count as an attempt that failed.
    attempts = await system_pool.fetchval(
        "select attempts from imports.jobs where id = $1", uuid.UUID(import_id)
    )
    assert attempts == 1
