"""The sheet as a table: its header row, its data rows, and what must be known before sending.

A sheet is read twice. The first reading (`scan`) finds the header, counts the data rows (so a
sheet over the row limit is refused before any row is imported, and the job shows its total from
the start) and collects the merged ranges, which the sheet's XML lists after its rows. The
second reading (`records`) streams the rows again, each with the merged ranges it lies in.
Both stream: memory does not grow with the sheet. Both call `check` between rows, which may
raise to stop a reading that has taken too long.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from openpyxl.utils.cell import get_column_letter

from contracts.spreadsheet import COLUMNS, REQUIRED, header_key

from .xlsx import Limits, Refused, Workbook
from .xlsx.cells import Problem, Value
from .xlsx.sheet import Merge, Row

# Rows above the header (a title, a note) are passed over, up to this many.
HEADER_SEARCH_ROWS = 10
MAX_MERGES = 10_000
_KNOWN = {header_key(c): c for c in COLUMNS}


@dataclass(frozen=True)
class Header:
    """The header row: where it is, and which column holds what."""

    row: int
    columns: dict[str, int]  # a known column's name -> its column number
    titles: dict[int, str]  # every column with a header -> the header as the file spells it


@dataclass(frozen=True)
class Table:
    sheet: str
    header: Header
    rows_total: int
    merges: list[Merge]


@dataclass
class Record:
    """One data row: its known columns' values, its merges, and its cells as the file has them."""

    row: int
    values: dict[str, Value]  # known column -> value (columns left empty are absent)
    raw: dict[int, Value]
    titles: dict[int, str]
    merged: dict[str, str] = field(default_factory=dict)  # known column -> merged range

    @property
    def cells(self) -> list[tuple[str, str | None]]:
        """(header, text) in the file's column order, as a failed row keeps them."""
        return [(title, _shown(self.raw.get(column))) for column, title in self.titles.items()]


def scan(workbook: Workbook, limits: Limits, check: Callable[[], None] = lambda: None) -> Table:
    """Header, number of data rows and merged ranges; Refused when the sheet cannot be read."""
    rows = iter(workbook.rows)
    header = _find_header(workbook.sheet_name, rows)
    total = 0
    for _, cells in rows:
        check()
        if _has_data(cells, header):
            total += 1
            if total > limits.max_rows:
                raise Refused(
                    f"The sheet {workbook.sheet_name!r} has more than {limits.max_rows:,} rows of"
                    " data: split it into several files."
                )
    return Table(workbook.sheet_name, header, total, _merges(workbook.rows.merges, header))


def records(
    workbook: Workbook, table: Table, check: Callable[[], None] = lambda: None
) -> Iterator[Record]:
    """The data rows below the header, in sheet order, blank rows left out."""
    header = table.header
    merges = sorted(table.merges, key=lambda m: m.min_row)
    upcoming = 0
    active: list[Merge] = []
    for number, cells in workbook.rows:
        check()
        if number <= header.row or not _has_data(cells, header):
            continue
        while upcoming < len(merges) and merges[upcoming].min_row <= number:
            active.append(merges[upcoming])
            upcoming += 1
        active = [m for m in active if m.max_row >= number]
        yield _record(number, cells, header, active)


def _find_header(sheet: str, rows: Iterator[Row]) -> Header:
    first: Header | None = None
    for seen, (number, cells) in enumerate(rows, start=1):
        header = _header(number, cells)
        if all(c in header.columns for c in REQUIRED):
            return header
        first = first or header
        if seen == HEADER_SEARCH_ROWS:
            break
    if first is None:
        raise Refused(f"The sheet {sheet!r} is empty.")
    missing = ", ".join(c for c in REQUIRED if c not in first.columns)
    raise Refused(
        f"No header row: row {first.row} of the sheet {sheet!r} must name the columns"
        f" {', '.join(REQUIRED)} (missing: {missing})."
    )


def _header(number: int, cells: dict[int, Value]) -> Header:
    columns: dict[str, int] = {}
    titles: dict[int, str] = {}
    for column in sorted(cells):
        value = cells[column]
        if not isinstance(value, str) or not value.strip():
            continue
        titles[column] = value.strip()
        known = _KNOWN.get(header_key(value))
        if known is None:
            continue
        if known in columns:
            raise Refused(
                f"The column {known} appears twice in the header (row {number}, columns"
                f" {get_column_letter(columns[known])} and {get_column_letter(column)}):"
                " keep one."
            )
        columns[known] = column
    return Header(number, columns, titles)


def _has_data(cells: dict[int, Value], header: Header) -> bool:
    """Whether a row holds anything under a header (cells outside the table do not count)."""
    return any(column in header.titles for column in cells)


def _merges(merges: list[Merge], header: Header) -> list[Merge]:
    """The merged ranges that touch a known column at or below the header row."""
    known = set(header.columns.values())
    found = [
        m
        for m in merges
        if m.max_row >= header.row and any(m.min_col <= c <= m.max_col for c in known)
    ]
    in_header = next((m for m in found if m.min_row <= header.row), None)
    if in_header is not None:
        raise Refused(
            f"The header cells {in_header.ref} are merged: unmerge them so that every column"
            " has a header of its own."
        )
    if len(found) > MAX_MERGES:
        raise Refused(f"The sheet has more than {MAX_MERGES:,} merged ranges: unmerge them.")
    return found


def _record(number: int, cells: dict[int, Value], header: Header, merges: list[Merge]) -> Record:
    values = {name: cells[column] for name, column in header.columns.items() if column in cells}
    merged = {
        name: m.ref
        for m in merges
        for name, column in header.columns.items()
        if m.min_col <= column <= m.max_col
    }
    return Record(number, values, cells, header.titles, merged)


def _shown(value: Value | None) -> str | None:
    if isinstance(value, Problem):
        return value.shown
    return value
