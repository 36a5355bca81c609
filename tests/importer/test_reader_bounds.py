"""The reader's bounds: long texts, huge numbers, unreadable parts. A file yields rows or is
Refused with a message; it never raises anything else, nor grows past what it holds."""

from __future__ import annotations

import json
import tracemalloc
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.importer.table import records, scan
from services.importer.xlsx import Limits, Refused, open_workbook, sheet
from services.importer.xlsx.cells import Problem, number_text
from services.importer.xlsx.sheet import Row
from tests.importer.hostile_parts import (
    DECLARATION,
    FIRST_VALUE,
    SHARED,
    SHEET,
    STYLES,
    VALUES,
    WORKBOOK,
    header_cells,
    number,
    seed_parts,
    shared,
    shared_xml,
    sheet_xml,
    with_parts,
    zipped,
)
from tests.importer.offline import People, judge
from tests.importer.workbooks import HEADERS

MILLION = "x" * 1_000_000
TOO_LONG = "holds text longer than 32,767 characters, more than a cell may hold"
RETYPE = "format the cells as Text and type the value again"


@pytest.fixture
def people() -> People:
    return People()


def read(data: bytes, limits: Limits | None = None) -> list[Row]:
    """Every row, read twice as an import does."""
    workbook = open_workbook(data, limits or Limits())
    rows = list(workbook.rows)
    assert list(workbook.rows) == rows
    return rows


def refusal(data: bytes, limits: Limits | None = None) -> str:
    with pytest.raises(Refused) as refused:
        read(data, limits)
    return refused.value.message


def data_row(contact: str, description: str = "") -> str:
    """Row 2 with a name, status and engineer, and the given Contact and Description cells."""
    name, status, engineer = FIRST_VALUE, FIRST_VALUE + 2, FIRST_VALUE + 3
    return (
        f'<row r="2">{shared(name, "B2")}{contact}{shared(status, "E2")}'
        f"{shared(engineer, 'F2')}{description}</row>"
    )


def with_long_string(rows: str, text: str = MILLION) -> bytes:
    """The seed workbook whose last shared string is `text`, under these rows."""
    header = f'<row r="1">{"".join(header_cells())}</row>'
    strings = shared_xml([*HEADERS, *VALUES, text])
    return with_parts(shared=strings, sheet=sheet_xml(header + rows))


LONG = len(HEADERS) + len(VALUES)  # the index of with_long_string's text


# 1. Text longer than a cell may hold.


def test_a_long_shared_string_is_a_row_error_and_is_not_kept(people: People) -> None:
    data = with_long_string(data_row(shared(LONG, "C2"), shared(LONG, "H2")))
    assert len(data) < 10_000
    strings = open_workbook(data, Limits()).rows.strings
    assert max(len(s) for s in strings if isinstance(s, str)) < 100
    assert isinstance(strings[LONG], Problem)
    outcome = judge(data, people.directory)
    assert outcome.messages(2) == [f"Contact {TOO_LONG}", f"Description {TOO_LONG}"]


def test_a_long_inline_string_is_a_row_error(people: People) -> None:
    inline = f'<c r="C2" t="inlineStr"><is><t>{MILLION}</t></is></c>'
    outcome = judge(with_long_string(data_row(inline)), people.directory)
    assert outcome.messages(2) == [f"Contact {TOO_LONG}"]


def test_the_cell_limit_is_a_setting() -> None:
    data = with_long_string(data_row(shared(LONG, "C2")), "y" * 100)
    [_, (_, cells)] = read(data, Limits(max_cell_chars=99))
    assert cells[3] == Problem("holds text longer than 99 characters, more than a cell may hold")
    [_, (_, cells)] = read(data, Limits(max_cell_chars=100))
    assert cells[3] == "y" * 100


def test_a_header_of_long_shared_strings_stays_small(people: People) -> None:
    """Thousands of columns headed by a million characters: no header, no failed row, grows."""
    columns = "".join(shared(LONG, f"{letter}1") for letter in _letters(9, 5000))
    header = f'<row r="1">{"".join(header_cells())}{columns}</row>'
    strings = shared_xml([*HEADERS, *VALUES, MILLION])
    data = with_parts(shared=strings, sheet=sheet_xml(header + data_row("")))
    workbook = open_workbook(data, Limits())
    table = scan(workbook, Limits())
    assert list(table.header.titles.values()) == HEADERS
    [record] = records(workbook, table)
    assert len(json.dumps(record.cells)) < 1000
    assert judge(data, people.directory).messages(2) == ["Contact is required"]


def test_a_row_of_long_texts_is_refused() -> None:
    """Each text within a cell's limit, the row far past what a subscription needs."""
    long_headers = "".join(shared(LONG, f"{letter}1") for letter in _letters(9, 3))
    header = f'<row r="1">{"".join(header_cells())}{long_headers}</row>'
    strings = shared_xml([*HEADERS, *VALUES, "z" * 30_000])
    data = with_parts(shared=strings, sheet=sheet_xml(header))
    assert refusal(data) == (
        "The sheet is not read: row 1 holds more than 65,536 characters of text, far more than"
        " subscriptions need (a long text repeated in many cells counts each time): remove the"
        " long texts, or split the file into several files."
    )


def test_the_text_of_a_whole_sheet_is_bounded() -> None:
    rows = "".join(f'<row r="{n}">{shared(LONG, f"C{n}")}</row>' for n in range(2, 200))
    data = with_long_string(rows, "w" * 1000)
    assert len(read(data)) == 199
    message = refusal(data, Limits(max_text_chars=100_000))
    assert message.startswith("The sheet is not read: the sheet holds more than 100,000 characters")


@pytest.mark.parametrize(
    ("limits", "what"),
    [
        (Limits(max_shared_strings=5), "more than 5 different texts"),
        (Limits(max_shared_chars=50), "more than 50 characters of different texts"),
    ],
)
def test_the_shared_strings_table_is_bounded(limits: Limits, what: str) -> None:
    assert refusal(zipped(seed_parts()), limits) == (
        f"The workbook's shared strings ({SHARED}) hold {what}, more than an import reads: copy"
        " the sheet to import into a new workbook, or split it into several files."
    )


# 2. Numbers.


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        ("1e999999", f"holds a number out of a spreadsheet's range (1e999999); {RETYPE}"),
        ("-1E+400", f"holds a number out of a spreadsheet's range (-1E+400); {RETYPE}"),
        ("1e-400", f"holds a number out of a spreadsheet's range (1e-400); {RETYPE}"),
        ("inf", f"holds a number out of a spreadsheet's range (inf); {RETYPE}"),
        ("NaN", f"holds a number out of a spreadsheet's range (NaN); {RETYPE}"),
        ("1e99999999999", f"holds a number that cannot be read (1e99999999999); {RETYPE}"),
        ("12abc", f"holds a number that cannot be read (12abc); {RETYPE}"),
        ("9" * 30_000, f"holds a number of 30,000 characters ({'9' * 20}…); {RETYPE}"),
    ],
)
def test_a_number_that_cannot_be_shown_is_a_row_error(
    people: People, stored: str, message: str
) -> None:
    for style in (None, 1):  # as a number, and as a date
        data = with_long_string(data_row(number("C2", stored, style)))
        assert judge(data, people.directory).messages(2) == [f"Contact {message}"]


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("1e20", "100000000000000000000"),
        ("-0", "0"),
        ("0E-9999999", "0"),
        ("9.99999999999999E+307", "999999999999999" + "0" * 293),
    ],
)
def test_large_and_small_numbers_as_shown(stored: str, shown: str) -> None:
    assert number_text(stored) == shown


def test_a_hundred_thousand_digits_never_reach_int() -> None:
    assert number_text("9" * 100_000) == Problem(
        f"holds a number of 100,000 characters ({'9' * 20}…); {RETYPE}", "9" * 20 + "…"
    )


# 3. Parts that cannot be parsed.


@pytest.mark.parametrize("encoding", ["x-unknown", "rot13", "utf-7", "UTF-32", "idna", "hex"])
@pytest.mark.parametrize("part", [SHEET, SHARED, STYLES, WORKBOOK, "_rels/.rels"])
def test_an_unknown_encoding_is_refused(part: str, encoding: str) -> None:
    parts: dict[str, str | bytes] = dict(seed_parts())
    declared = f'<?xml version="1.0" encoding="{encoding}"?>'
    parts[part] = str(parts[part]).replace(DECLARATION, declared)
    assert refusal(zipped(parts)) == (
        f"The file is damaged: {part} declares a text encoding that cannot be read (an .xlsx"
        " part is UTF-8 or UTF-16): save the spreadsheet as an Excel Workbook (.xlsx) and"
        " upload it again."
    )


def test_a_part_in_a_single_byte_encoding_is_read() -> None:
    parts: dict[str, str | bytes] = dict(seed_parts())
    sheet = sheet_xml('<row r="1"><c r="A1" t="inlineStr"><is><t>Café</t></is></c></row>')
    parts[SHEET] = sheet.replace(DECLARATION, '<?xml version="1.0" encoding="cp1252"?>').encode(
        "cp1252"
    )
    assert read(zipped(parts)) == [(1, {1: "Café"})]


def test_a_damaged_zip_entry_is_refused() -> None:
    data = bytearray(zipped(seed_parts()))
    start = bytes(data).index(SHEET.encode()) + len(SHEET) + 10  # inside its packed bytes
    data[start : start + 40] = bytes(40)
    assert refusal(bytes(data)).startswith(f"The file is damaged ({SHEET}: ")


@pytest.mark.parametrize("compression", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_zip_methods_no_spreadsheet_program_uses_are_refused(compression: int) -> None:
    assert refusal(zipped(seed_parts(), compression)) == (
        f"[Content_Types].xml is compressed in a way spreadsheet programs do not use (zip method"
        f" {compression}): save the spreadsheet as an Excel Workbook (.xlsx) and upload it again."
    )


def test_a_number_format_longer_than_excel_allows_is_no_date() -> None:
    """openpyxl's date test is quadratic in a format's length: a long one is not tested."""
    styles = str(seed_parts()[STYLES]).replace("yyyy\\-mm\\-dd", "[" * 200_000 + "yyyy")
    [_, _, (_, cells), _] = read(with_parts(styles=styles))
    assert cells[2] == "45292"  # style 1, no longer a date


def test_merged_ranges_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sheet, "MAX_MERGES", 2)
    merges = "".join(f'<mergeCell ref="A{n}:B{n}"/>' for n in range(10, 13))
    data = with_parts(sheet=sheet_xml("", f"<mergeCells>{merges}</mergeCells>"))
    assert refusal(data) == (f"The file is damaged: in {SHEET}, more than 2 ranges are merged.")


def test_the_seed_workbook_reads() -> None:
    rows = read(zipped(seed_parts()))
    assert [number for number, _ in rows] == [1, 2, 3, 4]
    assert rows[1][1][7] == "42"
    assert rows[1][1][8] == "Rich text"


# Any mutation of any part: rows or Refused, nothing else, soon and in little memory.

SNIPPETS = [
    '<?xml version="1.0" encoding="x-unknown"?>',
    '<?xml version="1.0" encoding="utf-16"?>',
    '<?xml version="1.0" encoding="utf-32"?>',
    '<?xml version="1.0" encoding="iso-8859-1"?>',
    '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>',
    "<v>1e999999</v>",
    '<c r="C9"><v>1e999999</v></c>',
    f'<c r="C9"><v>{"9" * 5000}</v></c>',
    f'<c r="C9" s="1"><v>{"9" * 100}</v></c>',
    '<c r="C9" t="d"><v>9999-99-99T99:99:99</v></c>',
    f'<c r="C9" t="s"><v>{"9" * 5000}</v></c>',
    '<c r="C9" t="s"><v>-1</v></c>',
    f'<row r="{"9" * 5000}"/>',
    '<row r="3"/>',
    f'<c r="{"Z" * 1000}1"/>',
    '<mergeCell ref="A1:ZZZZZZ99999999999"/>',
    '<numFmt numFmtId="99999999999999999999" formatCode="[[[[[[[[[[[[[["/>',
    '<xf numFmtId="-1"/>',
    "<a>" * 20_000,
    "</a>",
    "x" * 50_000,
    f"<si><t>{'y' * 40_000}</t></si>",
    "&#0;",
    "&#xFFFFFFFF;",
    "&unknown;",
    "<![CDATA[",
    "\udcff",
    '<Relationship Id="rId1" Type="x/worksheet" Target="../../../../etc/passwd"/>',
    '<Relationship Id="rId1" Type="x/worksheet" Target="/xl/workbook.xml"/>',
    '<sheet name="Subscriptions" r:id="rId2"/>',
]
XML_PARTS = sorted(seed_parts())


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    parts: dict[str, str | bytes] = dict(seed_parts())
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(XML_PARTS))
        content = bytearray(str(parts[name]).encode())
        at = draw(st.integers(0, len(content)))
        match draw(st.sampled_from(["flip", "truncate", "insert", "delete", "swap"])):
            case "flip":
                for _ in range(draw(st.integers(1, 8))):
                    content[draw(st.integers(0, len(content) - 1))] = draw(st.integers(0, 255))
            case "truncate":
                del content[at:]
            case "insert":
                snippet = draw(st.sampled_from(SNIPPETS)).encode("utf-8", "surrogateescape")
                content[at:at] = snippet
            case "delete":
                del content[at : at + draw(st.integers(1, 200))]
            case "swap":
                content = bytearray(str(parts[draw(st.sampled_from(XML_PARTS))]).encode())
        parts[name] = bytes(content)
    methods = [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]
    compression = draw(st.sampled_from(methods))
    data = bytearray(zipped(parts, compression))
    if draw(st.booleans()):  # now and then the zip itself
        for _ in range(draw(st.integers(1, 4))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


@settings(
    max_examples=400,
    deadline=1000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated())
def test_any_garbled_workbook_yields_rows_or_is_refused(data: bytes) -> None:
    tracemalloc.start()
    try:
        read(data)
    except Refused as refused:
        assert refused.message
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < 32 * 1024 * 1024


def _letters(first: int, count: int) -> list[str]:
    """Column letters from column number `first` on (A = 1)."""
    out = []
    for column in range(first, first + count):
        letters = ""
        while column:
            column, rest = divmod(column - 1, 26)
            letters = chr(65 + rest) + letters
        out.append(letters)
    return out
