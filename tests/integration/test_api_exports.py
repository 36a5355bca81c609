"""Export routes against the real PostgreSQL: the list's filters and order, CSV with a BOM, XLSX
that opens, formula neutralising, and keyset pages that neither skip nor repeat a row.

Rows go straight into the list's read model of a tenant of their own.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from openpyxl import load_workbook

from contracts.spreadsheet import EXPORT_COLUMNS, SHEET_NAME, restore
from services.importer.xlsx import Limits, open_workbook
from services.subscription.read import subscriptions as views
from services.subscription.read.exports import pages
from services.subscription.read.queries import parse_sort
from tests.integration.conftest import ClientFactory

INSERT = """
insert into read.subscriptions (tenant_id, id, unique_id, unique_number, name, status, description,
    contact_id, contact_name, organization_id, organization_name, engineer_id, engineer_name,
    service_contract_id, service_contract_number, service_contract_title,
    version, created_at, updated_at)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 1, $17, $18)
"""
HOSTILE = "=cmd|' /C calc'!A0"
START = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
ENGINEERS = (uuid.uuid4(), uuid.uuid4())
STATUSES = ("Active", "Suspended", "Cancelled")


SEEDED: set[str] = set()


@pytest.fixture(autouse=True)
async def _forget_seeded_rows(pool: asyncpg.Pool) -> AsyncIterator[None]:
    """Rows seeded straight into the read model have no events: take them out again, or later
    tests that compare the read model with a rebuild would see them."""
    yield
    if SEEDED:
        await pool.execute("delete from read.subscriptions where tenant_id = any($1)", list(SEEDED))
        SEEDED.clear()


async def seed(pool: asyncpg.Pool, tenant_id: str, count: int = 9) -> list[dict[str, Any]]:
    """`count` subscriptions; the second has a formula-like description and no organization."""
    made = []
    for n in range(1, count + 1):
        row = {
            "id": uuid.uuid4(),
            "unique_id": f"SUB-{n:06d}",
            "unique_number": n,
            "name": f"Home {n % 4}",  # ties in name order: the id decides
            "status": STATUSES[n % 3],
            "description": HOSTILE if n == 2 else f'line {n}, with "quotes"\nand a break',
            "contact_id": uuid.uuid4(),
            "contact_name": f"Contact {n}",
            "organization_id": None if n == 2 else uuid.uuid4(),
            "organization_name": None if n == 2 else "Acme Farms",
            "engineer_id": ENGINEERS[n % 2],
            "engineer_name": f"Engineer {n % 2}",
            "service_contract_id": uuid.uuid4(),
            "service_contract_number": f"SC-{n}",
            "service_contract_title": "Rural 50",
            "created_at": START + timedelta(minutes=n // 2),  # ties in time: the id decides
            "updated_at": START + timedelta(days=(n * 5) % 7),
        }
        SEEDED.add(tenant_id)
        await pool.execute(INSERT, tenant_id, *row.values())
        made.append(row)
    return made


def csv_rows(response: httpx.Response) -> list[list[str]]:
    assert response.content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))


def created(row: dict[str, Any]) -> str:
    return row["created_at"].strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_csv_export_has_a_bom_the_columns_and_every_row_in_list_order(
    client_for: ClientFactory, pool: asyncpg.Pool
) -> None:
    reader = await client_for(role="read")
    made = await seed(pool, reader.tenant_id)  # type: ignore[attr-defined]

    response = await reader.get("/api/v1/subscriptions/export.csv")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment; filename=" in response.headers["content-disposition"]
    assert ".csv" in response.headers["content-disposition"]
    rows = csv_rows(response)
    assert rows[0] == list(EXPORT_COLUMNS)
    newest_first = sorted(made, key=lambda r: (r["created_at"], r["id"]), reverse=True)
    assert [r[0] for r in rows[1:]] == [r["unique_id"] for r in newest_first]
    second = next(r for r in rows[1:] if r[0] == "SUB-000002")
    assert second == [
        "SUB-000002",
        "Home 2",
        "Contact 2",
        "",
        "Cancelled",
        "Engineer 0",
        "SC-2",
        "'" + HOSTILE,
        created(made[1]),
    ]
    first = next(r for r in rows[1:] if r[0] == "SUB-000001")
    assert first[7] == 'line 1, with "quotes"\nand a break'


async def test_csv_export_takes_the_lists_filters_and_sort(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    made = await seed(pool, api.tenant_id)  # type: ignore[attr-defined]
    engineer = ENGINEERS[1]
    params: dict[str, Any] = {
        "status": ["Suspended", "Cancelled"],
        "engineer_id": str(engineer),
        "sort": "unique_id",
    }

    rows = csv_rows(await api.get("/api/v1/subscriptions/export.csv", params=params))

    expected = [
        r["unique_id"]
        for r in sorted(made, key=lambda r: r["unique_number"])
        if r["status"] in ("Suspended", "Cancelled") and r["engineer_id"] == engineer
    ]
    assert [r[0] for r in rows[1:]] == expected
    searched = csv_rows(await api.get("/api/v1/subscriptions/export.csv", params={"q": "tact 7"}))
    assert [r[0] for r in searched[1:]] == ["SUB-000007"]
    none = csv_rows(await api.get("/api/v1/subscriptions/export.csv", params={"q": "nobody"}))
    assert none == [list(EXPORT_COLUMNS)]


async def test_export_refuses_a_bad_sort_and_is_not_taken_for_an_id(
    api: httpx.AsyncClient,
) -> None:
    for path in ("/api/v1/subscriptions/export.csv", "/api/v1/subscriptions/export.xlsx"):
        response = await api.get(path, params={"sort": "secret"})
        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == "/sort"
        assert (await api.get(path, params={"status": "Gone"})).status_code == 422


async def test_xlsx_export_opens_with_the_same_rows_neutralised(
    client_for: ClientFactory, pool: asyncpg.Pool
) -> None:
    reader = await client_for(role="read")
    made = await seed(pool, reader.tenant_id)  # type: ignore[attr-defined]

    response = await reader.get("/api/v1/subscriptions/export.xlsx", params={"sort": "name"})

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert ".xlsx" in response.headers["content-disposition"]
    assert "content-length" not in response.headers  # sent as it is written
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == [SHEET_NAME]
    sheet = book[SHEET_NAME]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == EXPORT_COLUMNS
    by_name = sorted(made, key=lambda r: (r["name"], r["id"]))
    assert [r[0] for r in rows[1:]] == [r["unique_id"] for r in by_name]
    second = next(r for r in rows[1:] if r[0] == "SUB-000002")
    assert second[3] is None
    assert second[7] == "'" + HOSTILE
    assert second[8] == created(made[1])
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    read = [row for _, row in open_workbook(response.content, Limits()).rows]
    assert [restore(str(v)) for v in read[0].values()] == list(EXPORT_COLUMNS)
    as_imported = next(r for r in read if r.get(1) == "SUB-000002")
    assert restore(str(as_imported[8])) == HOSTILE  # the importer gets the value back


@pytest.mark.parametrize(
    "sort", ["-created_at", "name", "-name", "status", "unique_id", "-updated_at"]
)
async def test_pages_walk_every_row_once_in_sort_order(
    api: httpx.AsyncClient, pool: asyncpg.Pool, sort: str
) -> None:
    tenant_id = api.tenant_id  # type: ignore[attr-defined]
    await seed(pool, tenant_id, count=23)
    order = parse_sort(sort, views.SORTS, views.DEFAULT_SORT)
    filters: dict[str, Any] = {"status": None}
    listed = await views.list_subscriptions(pool, tenant_id, filters, order, None, 500)

    walked = [r["id"] async for page in pages(pool, tenant_id, filters, order, 4) for r in page]

    assert walked == [item["id"] for item in listed.items]


async def test_pages_with_filters_match_the_list(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    tenant_id = api.tenant_id  # type: ignore[attr-defined]
    await seed(pool, tenant_id, count=23)
    order = parse_sort("-created_at", views.SORTS, views.DEFAULT_SORT)
    filters: dict[str, Any] = {"status": ["Active", "Cancelled"], "q": "home 1"}
    listed = await views.list_subscriptions(pool, tenant_id, filters, order, None, 500)

    walked = [r["id"] async for page in pages(pool, tenant_id, filters, order, 2) for r in page]

    assert walked and walked == [item["id"] for item in listed.items]
