"""One worksheet's rows, streamed in the sheet's order as the XML holds them.

Only rows present in the file are visited: a `dimension` claiming a million rows costs nothing,
and rows with no value are not even handed on. Cells keep what `openpyxl`'s data-only reading
loses: whether a formula had a stored value at all. Merged ranges are listed at the end of the
sheet's XML, so they are known once the rows have been read (`merges`).

Text is bounded where it is read, since a shared string multiplies: a cell's text past
`max_cell_chars` is not kept (the cell is a Problem), and a row's text past `max_row_chars`, or
a reading's past `max_text_chars`, is refused. Counting costs one addition per cell.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from openpyxl.utils.cell import range_boundaries

from . import cells
from .cells import Problem, Value
from .package import Limits, Package, Refused
from .xml import Handler, fed, local_name

# Excel's own bounds of a sheet.
MAX_ROW = 1_048_576
MAX_COLUMN = 16_384
# Far more than a sheet has (the import keeps at most 10,000 of them): a bound on memory.
MAX_MERGES = 100_000

Row = tuple[int, dict[int, Value]]
"""A sheet row number and its cells with a value, by column number (A = 1)."""


@dataclass(frozen=True)
class Merge:
    """A merged range of more than one cell."""

    ref: str
    min_row: int
    min_col: int
    max_row: int
    max_col: int


class SheetRows:
    """The rows with a value of one worksheet; iterate once per reading."""

    def __init__(
        self,
        package: Package,
        part: str,
        strings: list[Value],
        dates: frozenset[int],
        epoch: datetime,
    ) -> None:
        self.package = package
        self.part = part
        self.strings = strings
        self.dates = dates
        self.epoch = epoch
        self.merges: list[Merge] = []

    def __iter__(self) -> Iterator[Row]:
        handler = _Sheet(self.part, self.package.limits, self.strings, self.dates, self.epoch)
        for _ in fed(self.part, self.package.chunks(self.part), handler):
            if handler.rows:
                rows, handler.rows = handler.rows, []
                yield from rows
        yield from handler.rows
        self.merges = handler.merges


class _Sheet(Handler):
    """A worksheet's events: rows, cells, values, formulas, inline strings, merged ranges.

    The hottest code of an import (a million events for a large file): one method per kind of
    event with the usual names tested first, rather than a method per element.
    """

    def __init__(
        self,
        part: str,
        limits: Limits,
        strings: list[Value],
        dates: frozenset[int],
        epoch: datetime,
    ) -> None:
        self.part = part
        self.limits = limits
        self.strings = strings
        self.dates = frozenset(str(style) for style in dates)
        self.epoch = epoch
        self.rows: list[Row] = []
        self.merges: list[Merge] = []
        self._row = 0
        self._cells: dict[int, Value] = {}
        self._column = 0
        self._type = "n"
        self._style: str | None = None
        self._formula = False
        self._value: str | None = None
        self._inline: list[str] | None = None
        self._text: list[str] | None = None
        self._length = 0
        self._max_cell = limits.max_cell_chars
        self._too_long = cells.too_long(limits.max_cell_chars)
        self._row_chars = 0
        self._chars = 0
        self._phonetic = False
        self._columns: dict[str, int] = {}

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name == "c":
            # A cell: inline rather than a method of its own, being the most frequent element.
            ref = attrs.get("r")
            if ref is None:
                self._column = self._next_column()
            else:
                letters = ref.rstrip("0123456789")
                self._column = self._columns.get(letters) or self._learn_column(letters, ref)
            self._type = attrs.get("t", "n")
            self._style = attrs.get("s")
            self._formula = False
            self._value = None
            self._inline = None
            self._length = 0
        elif name == "v":
            self._text = []
        elif name == "t":
            if self._inline is not None and not self._phonetic:
                self._text = []
        elif name == "is":
            self._inline = []
        elif name == "row":
            self._start_row(attrs)
        elif name == "f":
            self._formula = True
        elif name == "rPh":
            self._phonetic = True
        elif name == "mergeCell":
            self._merge(attrs)
        elif ":" in name:
            self.start(local_name(name), attrs)

    def end(self, name: str) -> None:
        if name == "c":
            value = self._cell_value()
            if value is not None:
                self._cells[self._column] = value
        elif name == "v":
            self._value = "".join(self._text or ())
            self._text = None
        elif name == "t":
            if self._inline is not None and self._text is not None:
                self._inline.append("".join(self._text))
            self._text = None
        elif name == "row":
            if self._row_chars > self.limits.max_row_chars:
                raise self._too_much(f"row {self._row}", self.limits.max_row_chars)
            self._chars += self._row_chars
            if self._chars > self.limits.max_text_chars:
                raise self._too_much("the sheet", self.limits.max_text_chars)
            if self._cells:
                self.rows.append((self._row, self._cells))
        elif name == "rPh":
            self._phonetic = False
        elif ":" in name:
            self.end(local_name(name))

    def text(self, content: str) -> None:
        if self._text is not None:
            self._length += len(content)
            if self._length <= self._max_cell:
                self._text.append(content)

    def _start_row(self, attrs: dict[str, str]) -> None:
        row = _number(attrs.get("r"), self._row + 1)
        if not self._row < row <= MAX_ROW:
            raise self._damaged(f"row {row} comes after row {self._row}")
        self._row = row
        self._cells = {}
        self._column = 0
        self._row_chars = 0

    def _next_column(self) -> int:
        """The column of a cell without a reference: the one after the previous cell."""
        if self._column >= MAX_COLUMN:
            raise self._damaged(f"row {self._row} has cells past the last column")
        return self._column + 1

    def _learn_column(self, letters: str, ref: str) -> int:
        """The column number of a reference's letters (`AB` -> 28), remembered."""
        column = 0
        for ch in letters:
            column = column * 26 + ord(ch) - 64
            if not "A" <= ch <= "Z" or column > MAX_COLUMN:
                raise self._damaged(f"cell {ref} of row {self._row} is outside a sheet")
        if not column:
            raise self._damaged(f"cell {ref!r} of row {self._row} has no column")
        self._columns[letters] = column
        return column

    def _cell_value(self) -> Value | None:
        if self._length > self._max_cell:
            return self._too_long
        self._row_chars += self._length
        kind, raw = self._type, self._value
        if kind == "inlineStr":
            text = "".join(self._inline or ())
            return text if text.strip() else None
        if self._formula and (raw is None or (not raw and kind != "str")):
            # A formula's stored value is its last result; without one there is nothing to read.
            # Only a text result can be empty (`t="str"`): an empty number is no result at all,
            # as programs that write formulas without calculating them (openpyxl) leave it.
            return cells.NO_STORED_VALUE
        if raw is None or not raw.strip():
            return None
        if kind == "s":
            return self._shared(raw)
        if kind == "str":
            return raw
        if kind == "b":
            return "TRUE" if raw.strip() in ("1", "true") else "FALSE"
        if kind == "e":
            return cells.error_value(raw)
        if kind == "d":
            return cells.iso_date(raw)
        if self._style in self.dates:
            return cells.serial_date(raw, self.epoch)
        return cells.number_text(raw)

    def _shared(self, raw: str) -> Value | None:
        try:
            text = self.strings[int(raw)]
        except (ValueError, IndexError):
            return cells.MISSING_STRING
        if isinstance(text, Problem):
            return text
        self._row_chars += len(text)
        return text if text.strip() else None

    def _merge(self, attrs: dict[str, str]) -> None:
        ref = attrs.get("ref", "")
        try:
            min_col, min_row, max_col, max_row = range_boundaries(ref)
        except (ValueError, TypeError):
            raise self._damaged(f"merged range {ref!r} cannot be read") from None
        if min_row is None or min_col is None or max_row is None or max_col is None:
            return
        if (min_row, min_col) != (max_row, max_col):
            if len(self.merges) >= MAX_MERGES:
                raise self._damaged(f"more than {MAX_MERGES:,} ranges are merged")
            self.merges.append(Merge(ref, min_row, min_col, max_row, max_col))

    def _damaged(self, what: str) -> Refused:
        return Refused(f"The file is damaged: in {self.part}, {what}.")

    def _too_much(self, where: str, limit: int) -> Refused:
        # Shared strings count at each use: one long text repeated in many cells adds up.
        return Refused(
            f"The sheet is not read: {where} holds more than {limit:,} characters of text, far"
            " more than subscriptions need (a long text repeated in many cells counts each"
            " time): remove the long texts, or split the file into several files."
        )


def _number(text: str | None, default: int) -> int:
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        return -1


__all__ = ["Merge", "Problem", "Row", "SheetRows"]
