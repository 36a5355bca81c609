"""The small parts of a workbook: relationships, the sheet list, shared strings, date styles."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format

from .cells import Value, too_long
from .package import Limits, Package, Refused
from .xml import ByName, parse

ROOT_RELATIONSHIPS = "_rels/.rels"
# Excel's own limit for a number format; openpyxl's date test is quadratic in a format's length.
MAX_FORMAT_CHARS = 255
# Excel's own limit for the styles of a workbook: past it a cell style is read as no date.
MAX_STYLES = 65_536


@dataclass(frozen=True)
class Relationship:
    kind: str  # the last segment of the relationship type: officeDocument, worksheet, ...
    part: str  # the target's part name inside the package


@dataclass(frozen=True)
class SheetEntry:
    name: str
    part: str | None  # None when the sheet is not a worksheet (a chart sheet, a macro sheet)


@dataclass
class WorkbookInfo:
    sheets: list[SheetEntry] = field(default_factory=list)
    date1904: bool = False


def relationships(package: Package, part: str) -> dict[str, Relationship]:
    """The relationships of a part ("" for the package itself), by id."""
    folder, name = posixpath.split(part)
    rels = posixpath.join(folder, "_rels", f"{name}.rels") if part else ROOT_RELATIONSHIPS
    if not package.has(rels):
        return {}
    handler = _Relationships(folder)
    parse(rels, package.chunks(rels), handler)
    return handler.found


def workbook_info(package: Package, part: str) -> WorkbookInfo:
    """The workbook's sheets in order, each with its worksheet part, and its date system."""
    handler = _Workbook()
    parse(part, package.chunks(part), handler)
    rels = relationships(package, part)
    info = WorkbookInfo(date1904=handler.date1904)
    for name, rel_id in handler.sheets:
        rel = rels.get(rel_id)
        worksheet = rel is not None and rel.kind == "worksheet" and package.has(rel.part)
        info.sheets.append(SheetEntry(name, rel.part if worksheet and rel else None))
    return info


def shared_strings(package: Package, part: str | None) -> list[Value]:
    """Every shared string, rich text runs joined, phonetic guides left out; one longer than a
    cell may hold is kept as that Problem, not as its text."""
    if part is None or not package.has(part):
        return []
    handler = _SharedStrings(part, package.limits)
    parse(part, package.chunks(part), handler)
    return handler.strings


def date_styles(package: Package, part: str | None) -> frozenset[int]:
    """Indexes of the cell styles whose number format shows a date or a time."""
    if part is None or not package.has(part):
        return frozenset()
    handler = _Styles()
    parse(part, package.chunks(part), handler)
    return frozenset(
        index
        for index, format_id in enumerate(handler.cell_formats)
        if is_date_format(handler.custom.get(format_id) or BUILTIN_FORMATS.get(format_id, ""))
    )


class _Relationships(ByName):
    def __init__(self, folder: str) -> None:
        super().__init__({"Relationship": self._relationship}, {})
        self.folder = folder
        self.found: dict[str, Relationship] = {}

    def _relationship(self, attrs: dict[str, str]) -> None:
        if attrs.get("TargetMode") == "External":
            return
        target = attrs.get("Target", "")
        part = target.lstrip("/") if target.startswith("/") else posixpath.join(self.folder, target)
        kind = attrs.get("Type", "").rstrip("/").rpartition("/")[2]
        self.found[attrs.get("Id", "")] = Relationship(kind, posixpath.normpath(part))


class _Workbook(ByName):
    def __init__(self) -> None:
        super().__init__({"sheet": self._sheet, "workbookPr": self._properties}, {})
        self.sheets: list[tuple[str, str]] = []
        self.date1904 = False

    def _sheet(self, attrs: dict[str, str]) -> None:
        # The relationship id is `r:id`, whatever prefix the file gives its namespace.
        rel_id = next((v for k, v in attrs.items() if k.endswith(":id")), "")
        self.sheets.append((attrs.get("name", ""), rel_id))

    def _properties(self, attrs: dict[str, str]) -> None:
        self.date1904 = attrs.get("date1904", "0").lower() in ("1", "true")


class _SharedStrings(ByName):
    def __init__(self, part: str, limits: Limits) -> None:
        super().__init__(
            {"si": self._start_item, "t": self._start_text, "rPh": self._start_phonetic},
            {"si": self._end_item, "t": self._end_text, "rPh": self._end_phonetic},
        )
        self.part = part
        self.limits = limits
        self.strings: list[Value] = []
        self._too_long = too_long(limits.max_cell_chars)
        self._parts: list[str] = []
        self._length = 0  # of the item so far, counted past what is kept
        self._kept = 0  # characters kept by the whole table
        self._collecting = False
        self._phonetic = False

    def _start_item(self, attrs: dict[str, str]) -> None:
        self._parts = []
        self._length = 0

    def _start_text(self, attrs: dict[str, str]) -> None:
        self._collecting = not self._phonetic

    def _start_phonetic(self, attrs: dict[str, str]) -> None:
        self._phonetic = True

    def _end_item(self) -> None:
        if len(self.strings) >= self.limits.max_shared_strings:
            raise self._too_much(f"more than {self.limits.max_shared_strings:,} different texts")
        if self._length > self.limits.max_cell_chars:
            self.strings.append(self._too_long)
            return
        self._kept += self._length
        if self._kept > self.limits.max_shared_chars:
            raise self._too_much(
                f"more than {self.limits.max_shared_chars:,} characters of different texts"
            )
        self.strings.append("".join(self._parts))

    def _end_text(self) -> None:
        self._collecting = False

    def _end_phonetic(self) -> None:
        self._phonetic = False

    def text(self, content: str) -> None:
        if self._collecting:
            self._length += len(content)
            if self._length <= self.limits.max_cell_chars:
                self._parts.append(content)

    def _too_much(self, what: str) -> Refused:
        # The table serves every sheet of the workbook, not only the one imported.
        return Refused(
            f"The workbook's shared strings ({self.part}) hold {what}, more than an import"
            " reads: copy the sheet to import into a new workbook, or split it into several"
            " files."
        )


class _Styles(ByName):
    def __init__(self) -> None:
        super().__init__(
            {"numFmt": self._format, "cellXfs": self._enter, "xf": self._style},
            {"cellXfs": self._leave},
        )
        self.custom: dict[int, str] = {}
        self.cell_formats: list[int] = []
        self._in_cell_xfs = False

    def _format(self, attrs: dict[str, str]) -> None:
        if len(self.custom) >= MAX_STYLES:
            return
        code = attrs.get("formatCode", "")
        self.custom[_int(attrs.get("numFmtId"))] = code if len(code) <= MAX_FORMAT_CHARS else ""

    def _enter(self, attrs: dict[str, str]) -> None:
        self._in_cell_xfs = True

    def _leave(self) -> None:
        self._in_cell_xfs = False

    def _style(self, attrs: dict[str, str]) -> None:
        # Only cellXfs styles are what a cell's `s` refers to (not cellStyleXfs).
        if self._in_cell_xfs and len(self.cell_formats) < MAX_STYLES:
            self.cell_formats.append(_int(attrs.get("numFmtId")))


def _int(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 0
