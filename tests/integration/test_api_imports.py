"""Import routes against the real PostgreSQL and NATS: the upload stores its job and wakes the
worker; hostile bodies get a problem naming the field; jobs, error reports and the template.

The worker is not running here: job progress and row errors are written into the `imports`
schema directly, as the worker would.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import nats
import pytest
from nats.js.errors import NotFoundError
from openpyxl import Workbook, load_workbook

from contracts.spreadsheet import COLUMNS, REQUIRED, SHEET_NAME, STATUSES, restore
from contracts.subjects import import_queued_subject, imports_stream
from services.importer.stream import ensure_stream
from services.importer.xlsx import Limits, open_workbook
from services.subscription.app import create_app
from services.subscription.config import Settings
from tests.integration.conftest import ClientFactory

PROBLEM = "application/problem+json"
HOSTILE = "=cmd|' /C calc'!A0"


def workbook(*rows: list[Any]) -> bytes:
    """A small .xlsx with the template's headers and the given rows."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = SHEET_NAME
    sheet.append(list(COLUMNS))
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


XLSX = workbook(["", "Home 50M", "Jane Doe", "", "Active", "Alice Ng", "", "first"])


async def upload(api: httpx.AsyncClient, content: bytes = XLSX, **fields: str) -> httpx.Response:
    return await api.post(
        "/api/v1/imports", files={"file": ("customers.xlsx", content)}, data=fields
    )


def assert_problem(response: httpx.Response, status: int, pointer: str, text: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert text in body["detail"]
    assert body["errors"][0]["pointer"] == pointer


@pytest.fixture
async def imports_stream_ready(nc: nats.NATS, nats_url: str, namespace: str) -> AsyncIterator[str]:
    """The imports stream, as the importer's setup creates it; removed only if made here."""
    name = imports_stream(namespace)
    try:
        await nc.jetstream().stream_info(name)
        made_here = False
    except NotFoundError:
        await ensure_stream(nats_url, namespace)
        made_here = True
    yield name
    if made_here:
        await nc.jetstream().delete_stream(name)


async def test_upload_answers_202_stores_job_and_file_and_wakes_the_worker(
    api: httpx.AsyncClient,
    pool: asyncpg.Pool,
    nc: nats.NATS,
    namespace: str,
    imports_stream_ready: str,
) -> None:
    wakeups = await nc.subscribe(import_queued_subject(namespace))
    await nc.flush()

    response = await upload(api, dry_run="Yes")

    assert response.status_code == 202, response.text
    import_id = response.json()["import_id"]
    assert response.headers["location"] == f"/api/v1/imports/{import_id}"
    job = await pool.fetchrow("select * from imports.jobs where id = $1", uuid.UUID(import_id))
    assert job is not None
    assert (job["tenant_id"], job["actor"], job["filename"]) == (
        api.tenant_id,  # type: ignore[attr-defined]
        "tester-admin",
        "customers.xlsx",
    )
    assert (job["state"], job["dry_run"], job["file_size"]) == ("queued", True, len(XLSX))
    stored = await pool.fetchval("select content from imports.files where job_id = $1", job["id"])
    assert stored == XLSX
    message = await wakeups.next_msg(timeout=5)
    assert json.loads(message.data) == {"import_id": import_id}
    assert message.headers is not None and message.headers["Nats-Msg-Id"] == import_id
    kept = await nc.jetstream().get_last_msg(imports_stream_ready, import_queued_subject(namespace))
    assert json.loads(kept.data or b"") == {"import_id": import_id}


@pytest.mark.parametrize(
    ("raw", "expected"), [("true", True), ("ON", True), ("1", True), ("no", False), ("", False)]
)
async def test_dry_run_is_forgiving(
    api: httpx.AsyncClient, pool: asyncpg.Pool, raw: str, expected: bool
) -> None:
    response = await upload(api, dry_run=raw)
    assert response.status_code == 202, response.text
    job_id = uuid.UUID(response.json()["import_id"])
    assert await pool.fetchval("select dry_run from imports.jobs where id = $1", job_id) is expected


async def test_upload_is_stored_even_when_nats_is_away(
    settings: Settings, client_for: ClientFactory, pool: asyncpg.Pool
) -> None:
    away = settings.model_copy(update={"nats_url": "nats://127.0.0.1:1"})
    app = create_app(away)
    token_client = await client_for()
    async with app.router.lifespan_context(app):
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://test",
            headers={"Authorization": token_client.headers["Authorization"]},
        )
        async with client:
            response = await upload(client)
    assert response.status_code == 202, response.text
    job_id = uuid.UUID(response.json()["import_id"])
    assert await pool.fetchval("select state from imports.jobs where id = $1", job_id) == "queued"


async def test_upload_refuses_hostile_bodies(
    api: httpx.AsyncClient, client_for: ClientFactory
) -> None:
    no_file = await api.post("/api/v1/imports", files={"dry_run": (None, "true")})
    assert_problem(no_file, 422, "/file", "attach the spreadsheet")
    as_text = await api.post("/api/v1/imports", files={"file": (None, "just text")})
    assert_problem(as_text, 422, "/file", "attach the spreadsheet")
    assert_problem(await upload(api, b""), 422, "/file", "empty")
    assert_problem(await upload(api, b"name,status\nx,Active\n"), 415, "/file", "not an .xlsx")
    ole2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)
    assert_problem(await upload(api, ole2), 415, "/file", "password-protected")
    assert_problem(await upload(api, dry_run="maybe"), 422, "/dry_run", "true or false")
    as_json = await api.post("/api/v1/imports", json={"file": "x"})
    assert_problem(as_json, 415, "/file", "multipart/form-data")
    reader = await client_for(role="read")
    forbidden = await upload(reader)
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"] == PROBLEM


@pytest.fixture
async def small_limit_client(
    settings: Settings, client_for: ClientFactory
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an API whose upload limit is 4 KiB."""
    app = create_app(settings.model_copy(update={"max_upload_bytes": 4096}))
    token_client = await client_for()
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://test",
            headers={"Authorization": token_client.headers["Authorization"]},
        ) as client:
            yield client


async def test_upload_over_the_limit_is_413_declared_or_streamed(
    small_limit_client: httpx.AsyncClient,
) -> None:
    big = b"PK\x03\x04" + bytes(200_000)
    declared = await upload(small_limit_client, big)
    assert_problem(declared, 413, "/file", "over the upload limit of 4096 bytes")

    boundary = "wispgate-test"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.xlsx"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        yield head
        for _ in range(50):
            yield bytes(4096)
        yield f"\r\n--{boundary}--\r\n".encode()

    streamed = await small_limit_client.post(
        "/api/v1/imports",
        content=chunks(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert_problem(streamed, 413, "/file", "over the upload limit")

    just_over = b"PK\x03\x04" + bytes(4093)  # 4097 bytes: the form overhead allowance aside
    assert_problem(await upload(small_limit_client, just_over), 413, "/file", "upload limit")
    assert (await upload(small_limit_client, XLSX[:4096])).status_code == 202


async def test_multipart_elsewhere_keeps_the_json_body_limit(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/api/v1/contacts", files={"file": ("big.bin", bytes(2 * 1024 * 1024))}
    )
    assert response.status_code == 413


async def stored_job(api: httpx.AsyncClient) -> uuid.UUID:
    response = await upload(api)
    assert response.status_code == 202, response.text
    return uuid.UUID(response.json()["import_id"])


async def fail_rows(
    pool: asyncpg.Pool, job_id: uuid.UUID, rows: dict[int, tuple[list[list[Any]], list[str]]]
) -> None:
    """Record failed rows as the worker does: cells by header, and each row's messages."""
    for sheet_row, (cells, messages) in rows.items():
        await pool.execute(
            "insert into imports.failed_rows (job_id, sheet_row, cells) values ($1, $2, $3)",
            job_id,
            sheet_row,
            cells,
        )
        for seq, message in enumerate(messages):
            await pool.execute(
                "insert into imports.row_errors (job_id, sheet_row, seq, column_name, message)"
                " values ($1, $2, $3, $4, $5)",
                job_id,
                sheet_row,
                seq,
                "Status" if seq == 0 else None,
                message,
            )


async def test_job_shows_progress_and_errors_in_row_order(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    job_id = await stored_job(api)
    await pool.execute(
        "update imports.jobs set state = 'running', rows_total = 10, rows_processed = 6,"
        " rows_created = 3, rows_skipped = 1, rows_failed = 2, position = 42 where id = $1",
        job_id,
    )
    await fail_rows(
        pool,
        job_id,
        {
            7: ([["Status", "Gone"]], ["Status must be one of Active, …", "Contact is missing"]),
            3: ([["Status", "Nope"]], ["Status must be one of Active, …"]),
        },
    )

    body = (await api.get(f"/api/v1/imports/{job_id}")).json()

    assert body["id"] == str(job_id)
    assert body["filename"] == "customers.xlsx"
    assert (body["state"], body["dry_run"], body["position"]) == ("running", False, 42)
    counts = [body[k] for k in ("rows_total", "rows_processed", "rows_created", "rows_skipped")]
    assert [*counts, body["rows_failed"]] == [10, 6, 3, 1, 2]
    assert body["errors"] == [
        {"row": 3, "column": "Status", "message": "Status must be one of Active, …"},
        {"row": 7, "column": "Status", "message": "Status must be one of Active, …"},
        {"row": 7, "column": None, "message": "Contact is missing"},
    ]
    assert body["errors_truncated"] is False


async def test_job_error_list_is_capped_and_says_so(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    job_id = await stored_job(api)
    await pool.executemany(
        "insert into imports.row_errors (job_id, sheet_row, seq, message) values ($1, $2, 0, $3)",
        [(job_id, n, f"problem {n}") for n in range(2, 1_203)],
    )
    body = (await api.get(f"/api/v1/imports/{job_id}")).json()
    assert len(body["errors"]) == 1_000
    assert body["errors"][-1]["row"] == 1_001
    assert body["errors_truncated"] is True


async def test_other_tenants_jobs_are_not_found(
    api: httpx.AsyncClient, client_for: ClientFactory
) -> None:
    job_id = await stored_job(api)
    stranger = await client_for()
    for path in (f"/api/v1/imports/{job_id}", f"/api/v1/imports/{job_id}/errors.xlsx"):
        response = await stranger.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM
    assert (await api.get(f"/api/v1/imports/{uuid.uuid4()}")).status_code == 404


async def test_template_has_the_columns_instructions_and_statuses(
    client_for: ClientFactory,
) -> None:
    reader = await client_for(role="read")
    response = await reader.get("/api/v1/imports/template.xlsx")

    assert response.status_code == 200, response.text
    assert "template.xlsx" in response.headers["content-disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == [SHEET_NAME, "Instructions"]
    data = book[SHEET_NAME]
    header = list(next(data.iter_rows(min_row=1, max_row=1)))
    assert [c.value for c in header] == list(COLUMNS)
    assert {c.value for c in header if c.font.bold} == set(REQUIRED)
    lists = [v.formula1 for v in data.data_validations.dataValidation if v.type == "list"]
    assert lists == [f'"{",".join(STATUSES)}"']
    text = "\n".join(
        str(v) for row in book["Instructions"].iter_rows(values_only=True) for v in row if v
    )
    for name in (*COLUMNS, *STATUSES):
        assert name in text


def cells(headers: list[str], values: list[str | None]) -> list[list[Any]]:
    return [[h, v] for h, v in zip(headers, values, strict=True)]


async def test_errors_xlsx_gives_failed_rows_under_their_own_headers_with_an_error_column(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    job_id = await stored_job(api)
    headers = ["name", "STATUS", "contact", "Error", "Notes"]  # as the file had them
    await fail_rows(
        pool,
        job_id,
        {
            5: (
                cells(headers, ["Farm 2", "later", "Bob", "old report", None]),
                ["Status must be one of Active, Inactive", "Engineer is required"],
            ),
            2: (
                cells(headers, [HOSTILE, "x", None, None, "007"]),
                ["Status must be one of Active, Inactive"],
            ),
        },
    )

    response = await api.get(f"/api/v1/imports/{job_id}/errors.xlsx")

    assert response.status_code == 200, response.text
    assert f"import-{job_id}-errors.xlsx" in response.headers["content-disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == [SHEET_NAME]
    rows = list(book[SHEET_NAME].iter_rows(values_only=True))
    kept = [h for h in headers if h != "Error"]
    assert rows[0] == (*kept, "Error")
    assert rows[1] == (
        "'=cmd|' /C calc'!A0",
        "x",
        None,
        "007",
        "Status must be one of Active, Inactive",
    )
    assert rows[2] == (
        "Farm 2",
        "later",
        "Bob",
        None,
        "Status must be one of Active, Inactive\nEngineer is required",
    )
    assert book[SHEET_NAME]["A2"].data_type == "s"
    header, first = read_back(response.content)[:2]
    assert header == [*kept, "Error"]
    assert first[:4] == [HOSTILE, "x", None, "007"]


def read_back(content: bytes) -> list[list[str | None]]:
    """The sheet's text as the importer's reader sees it, formula neutralising undone."""
    rows = []
    for _, cells in open_workbook(content, Limits()).rows:
        texts = [cells.get(column) for column in range(1, max(cells) + 1)]
        rows.append([restore(t) if isinstance(t, str) else None for t in texts])
    return rows


async def test_errors_xlsx_of_a_job_without_failures_has_the_template_headers(
    api: httpx.AsyncClient,
) -> None:
    job_id = await stored_job(api)
    response = await api.get(f"/api/v1/imports/{job_id}/errors.xlsx")
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.content))[SHEET_NAME].iter_rows(values_only=True))
    assert rows == [(*COLUMNS, "Error")]
