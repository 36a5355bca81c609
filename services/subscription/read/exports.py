"""The subscription list for export: every row the list's filters match, in the list's order.

An export reads the whole result in keyset pages: each page is a short statement of its own that
resumes after the previous page's last row, as the list's `next_cursor` does. No connection,
transaction or snapshot is held between pages, so a slow download holds nothing in PostgreSQL
and memory holds one page at a time. Each page walks the sort index from where the last one
stopped, so an export costs one pass over the tenant's list whatever its filters.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any
from uuid import UUID

import asyncpg

from services.subscription.read.list_sql import account_filters
from services.subscription.read.queries import Sort, like_pattern
from services.subscription.read.subscriptions import SORTS

PAGE_ROWS = 5_000

# The export's texts in the order of contracts.spreadsheet.EXPORT_COLUMNS: references by the
# names the importer resolves them by, a service contract by its number, then Created At.
TEXTS = (
    "unique_id", "name", "contact_name", "organization_name", "status", "engineer_name",
    "service_contract_number", "description",
)  # fmt: skip
# ISO 8601 in UTC to the second (`2026-11-28T20:37:00Z`): digits first, no separator or quote,
# so there is nothing in it to neutralise or to escape.
ISO_UTC = """to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""
# Then what a page resumes after: the id and every column the list sorts by.
SELECTED = f"{', '.join(TEXTS)}, {ISO_UTC} as created, id, {', '.join(sorted(set(SORTS.values())))}"
EQUALS = ("engineer_id", "organization_id", "contact_id")

# The CSV export is written by PostgreSQL, a page of lines in one value, as
# sheets.files.csv_bytes writes it: every field quoted, quotes doubled, NULL as "", CRLF.
# contracts.spreadsheet.neutralise as a PostgreSQL regular expression (which has the same
# lookbehind and lookahead): a quote before every formula start at the cell's start or after a
# separator. CHANGED finds the rows it changes (their texts joined by \x01).
# tests/integration/test_export_csv_sql.py compares both, and whole lines, on random text.
SEPARATORS = ",;|\t\n\r"
FORMULA_STARTS = "-=+@\t\r"  # `-` first: a plain character in a bracket expression
FORMULA_AT = f"(?<![^{SEPARATORS}])(?='*[{FORMULA_STARTS}])"
CHANGED = f"(^|[\x01{SEPARATORS}])'*[{FORMULA_STARTS}]"
CSV_PAGE = """
with page as (
    select {column}, id, {line} as line from read.subscriptions where {where}
    order by {order_by} limit {rows}
)
select (select string_agg(line, '' order by {order_by}) from page) as text,
       (select count(*) from page) as rows, last.{column} as key, last.id
from (select {column}, id from page order by {reverse} limit 1) as last
"""


def page_sql(
    tenant_id: str,
    filters: dict[str, Any],
    sort: Sort,
    after: tuple[Any, UUID] | None,
    rows: int,
) -> tuple[str, list[Any]]:
    """One page's SQL and its arguments: the list's filters, and only rows after `after`."""
    where, args = _where(tenant_id, filters, sort, after)
    sql = (
        f"select {SELECTED} from read.subscriptions where {where}"
        f" order by {sort.order_by} limit ${len(args) + 1}"
    )
    return sql, [*args, rows]


def csv_page_sql(
    tenant_id: str,
    filters: dict[str, Any],
    sort: Sort,
    after: tuple[Any, UUID] | None,
    rows: int,
) -> tuple[str, list[Any]]:
    """One page as CSV text in one value, with its row count and its last row's (key, id)."""
    where, args = _where(tenant_id, filters, sort, after)
    formula_at, changed, limit = (f"${len(args) + n}" for n in (1, 2, 3))
    sql = CSV_PAGE.format(
        column=sort.column,
        line=csv_line_sql(formula_at, changed),
        where=where,
        order_by=sort.order_by,
        rows=limit,
        reverse=Sort(sort.column, not sort.descending).order_by,
    )
    return sql, [*args, FORMULA_AT, CHANGED, rows]


def csv_line_sql(formula_at: str, changed: str) -> str:
    """A row's CSV line; `formula_at` and `changed` are the placeholders of the two patterns."""

    def line(neutralise: Callable[[str], str]) -> str:
        fields = [f"""replace({neutralise(f"coalesce({c}, '')")}, '"', '""')""" for c in TEXTS]
        return """'"' || """ + """ || '","' || """.join([*fields, ISO_UTC]) + """ || E'"\\r\\n'"""

    # Joined by a character that starts a cell in `changed`, the texts tell at once whether any
    # of them holds a formula start: most rows skip the replacement.
    texts = f"concat_ws(E'\\x01', {', '.join(TEXTS)})"
    neutralised = line(lambda text: f"regexp_replace({text}, {formula_at}, '''', 'g')")
    return f"case when {texts} ~ {changed} then {neutralised} else {line(lambda text: text)} end"


async def csv_pages(
    pool: asyncpg.Pool,
    tenant_id: str,
    filters: dict[str, Any],
    sort: Sort,
    page_rows: int = PAGE_ROWS,
) -> AsyncIterator[str]:
    """Every matching row in sort order as CSV lines, a page of them in one string at a time."""
    after: tuple[Any, UUID] | None = None
    while True:
        sql, args = csv_page_sql(tenant_id, filters, sort, after, page_rows)
        page = await pool.fetchrow(sql, *args)
        if page is None:
            return
        yield page["text"]
        if page["rows"] < page_rows:
            return
        after = (page["key"], page["id"])


def _where(
    tenant_id: str, filters: dict[str, Any], sort: Sort, after: tuple[Any, UUID] | None
) -> tuple[str, list[Any]]:
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    where = [f"tenant_id = {arg(tenant_id)}"]
    where += [f"{name} = {arg(filters[name])}" for name in EQUALS if filters.get(name)]
    where += account_filters(filters, arg)
    statuses = sorted(set(filters.get("status") or ()))
    if len(statuses) == 1:
        where.append(f"status = {arg(statuses[0])}")
    elif statuses:
        where.append(f"status = any({arg(statuses)}::text[])")
    if filters.get("q"):
        where.append(f"search like {arg(like_pattern(filters['q']))}")
    if after is not None:
        args += after
        where.append(sort.after(len(args) - 1, len(args)))
    return " and ".join(where), args


async def pages(
    pool: asyncpg.Pool,
    tenant_id: str,
    filters: dict[str, Any],
    sort: Sort,
    page_rows: int = PAGE_ROWS,
) -> AsyncIterator[list[asyncpg.Record]]:
    """Every matching row in sort order, a page at a time."""
    after: tuple[Any, UUID] | None = None
    while True:
        sql, args = page_sql(tenant_id, filters, sort, after, page_rows)
        rows = await pool.fetch(sql, *args)
        if rows:
            yield rows
        if len(rows) < page_rows:
            return
        last = rows[-1]
        after = (last[sort.column], last["id"])


def row_values(row: asyncpg.Record) -> tuple[str | None, ...]:
    """One subscription's texts in the order of contracts.spreadsheet.EXPORT_COLUMNS."""
    return tuple(row[: len(TEXTS) + 1])
