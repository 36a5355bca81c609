"""The fast export paths write exactly what the plain ones would.

CSV: PostgreSQL writes each line (read.exports.csv_line_sql), neutralising with its own regular
expression; on random text its lines are the bytes `csv_bytes` writes from the same values after
`contracts.spreadsheet.neutralise`. XLSX: the streamed writer's cells hold what the rule gives
(neutralised, without what XML cannot hold), its file opens in openpyxl and in the importer's
reader, whatever its size, and its first bytes come before any row.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from contracts.spreadsheet import EXPORT_COLUMNS, neutralise, restore
from services.importer.xlsx import Limits, open_workbook
from services.subscription.read.exports import CHANGED, FORMULA_AT, TEXTS, csv_line_sql
from services.subscription.sheets.files import cell_text, csv_bytes
from services.subscription.sheets.streamed import StreamedSheet, cell_xml

# Formula starts, separators, quotes, control characters, markup, spaces, and any other text.
SPECIAL = "=+-@'\"\t\r\n,;| \x01\x0b&<>\xa0\ufffe"
TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(SPECIAL), st.characters(blacklist_categories=["Cs"], min_codepoint=1)
    ),
    max_size=20,
)
MOMENTS = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)
)
LINE = f"""
select {csv_line_sql("$1", "$2")}
from (values ({", ".join(f"${n}::text" for n in range(3, 3 + len(TEXTS)))},
              ${3 + len(TEXTS)}::timestamptz)) as row ({", ".join(TEXTS)}, created_at)
"""
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
SLOW = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@SLOW
@given(texts=st.lists(st.one_of(st.none(), TEXT), min_size=len(TEXTS), max_size=len(TEXTS)))
async def test_postgresql_writes_the_csv_line_python_writes(
    pool: asyncpg.Pool, texts: list[str | None]
) -> None:
    moment = datetime(2026, 3, 1, 8, 30, 15, 999_999, tzinfo=UTC)
    line = await pool.fetchval(LINE, FORMULA_AT, CHANGED, *texts, moment)

    assert line.encode() == csv_bytes([[*texts, iso_utc(moment)]])


@SLOW
@given(text=TEXT)
async def test_postgresql_neutralises_as_python_does(pool: asyncpg.Pool, text: str) -> None:
    got = await pool.fetchval("select regexp_replace($1::text, $2, '''', 'g')", text, FORMULA_AT)

    assert got == neutralise(text)


@SLOW
@given(moment=MOMENTS)
async def test_postgresql_writes_created_at_as_python_does(
    pool: asyncpg.Pool, moment: datetime
) -> None:
    texts = ["x"] * len(TEXTS)
    line = await pool.fetchval(LINE, FORMULA_AT, CHANGED, *texts, moment)

    assert line.endswith(f'"{iso_utc(moment)}"\r\n')


@settings(max_examples=2000)
@given(text=TEXT)
def test_the_fast_path_of_a_cell_changes_nothing(text: str) -> None:
    assert cell_text(text) == neutralise(text)
    element = cell_xml(text)
    body = re.fullmatch(r'<t( xml:space="preserve")?>(.*)</t>', element, re.S)
    assert body is not None
    shown = body[2].replace("&#13;", "\r").replace("&lt;", "<").replace("&gt;", ">")
    assert shown.replace("&amp;", "&") == neutralise(NOT_XML.sub("", text))
    assert bool(body[1]) == (shown != shown.strip())


def test_a_streamed_workbook_opens_everywhere_and_starts_before_its_rows() -> None:
    hostile = ("SUB-1", "=cmd|' /C calc'!A0", None, "a\rb\nc", "x;@y", " spaced ", "<&>")
    plain = [
        (f"SUB-{n}", f"Home {n}", "Contact", None, "Active", None, None, None, "z")
        for n in range(2, 12_000)
    ]
    rows = [(*hostile, "\x01\ufffe", ""), *plain]
    sheet = StreamedSheet("Subscriptions", EXPORT_COLUMNS)
    first = sheet.start()
    body = first + b"".join(sheet.rows(rows[i : i + 5000]) for i in range(0, len(rows), 5000))
    body += sheet.finish()

    assert first.startswith(b"PK\x03\x04")
    assert zipfile.ZipFile(io.BytesIO(body)).testzip() is None
    book = load_workbook(io.BytesIO(body))
    read = list(book["Subscriptions"].iter_rows(values_only=True))
    assert read[0] == EXPORT_COLUMNS
    assert book["Subscriptions"]["A1"].font.b
    assert book["Subscriptions"].freeze_panes == "A2"
    assert read[1] == (
        "SUB-1", "'=cmd|' /C calc'!A0", None, "a\rb\nc", "x;'@y", " spaced ", "<&>", "", "",
    )  # fmt: skip
    assert len(read) == len(rows) + 1 and read[-1][0] == "SUB-11999"
    imported = [row for _, row in open_workbook(body, Limits()).rows]
    assert [restore(str(v)) for v in imported[0].values()] == list(EXPORT_COLUMNS)
    assert restore(str(imported[1][2])) == "=cmd|' /C calc'!A0"
    assert len(imported) == len(rows) + 1
