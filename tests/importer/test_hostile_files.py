"""One hostile file per kind, each with the clear message the job reports for it."""

from __future__ import annotations

import datetime
import io
import zipfile

import pytest

from services.importer.xlsx import Limits, Refused, open_workbook
from tests.importer.offline import People, judge
from tests.importer.workbooks import (
    HEADERS,
    cell,
    declared_smaller,
    header_row,
    package,
    row,
    xlsx,
)

MIB = 1024 * 1024
SAVE_AS = "save the spreadsheet as an Excel Workbook (.xlsx) and upload it again"
GOOD = ["", "Fibre home", "Ada Lovelace", "", "Active", "Grace Hopper", "", ""]


@pytest.fixture
def people() -> People:
    return People()


def refusal(data: bytes, people: People, limits: Limits | None = None) -> str:
    with pytest.raises(Refused) as refused:
        judge(data, people.directory, limits)
    return refused.value.message


def test_not_an_xlsx(people: People) -> None:
    csv = b"Subscription Name,Contact\nFibre,Ada\n"
    assert refusal(csv, people) == f"This file is not an .xlsx workbook: {SAVE_AS}."


def test_a_zip_that_is_not_a_workbook(people: People) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        out.writestr("readme.txt", "hello")
    assert (
        refusal(buffer.getvalue(), people) == f"This zip file is not an Excel workbook: {SAVE_AS}."
    )


def test_password_protected_or_old_xls(people: People) -> None:
    ole2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096)
    assert refusal(ole2, people) == (
        "This file is password-protected (encrypted) or an old Excel 97-2003 .xls workbook:"
        f" remove the password, or {SAVE_AS}."
    )


def test_zip_bomb_by_declared_size(people: People) -> None:
    bomb = package(header_row(), extra={"xl/media/filler.bin": bytes(16 * MIB)})
    message = refusal(bomb, people, Limits(max_unpacked_bytes=8 * MIB))
    assert message == (
        "The file unpacks to 16 MiB, more than the 8 MiB allowed (it may be a zip bomb):"
        " split it into several files."
    )


def test_zip_bomb_by_ratio(people: People) -> None:
    bomb = package(header_row(), extra={"xl/media/filler.bin": bytes(4 * MIB)})
    message = refusal(bomb, people)
    assert message.startswith("xl/media/filler.bin unpacks ")
    assert message.endswith("times larger than it is packed, more than the 100 times allowed:"
                            " it looks like a zip bomb.")  # fmt: skip


def test_zip_entry_unpacking_past_what_it_declares(people: People) -> None:
    sheet = "<sheetData>" + header_row() + "</sheetData>"
    lying = declared_smaller(package(sheet), "xl/worksheets/sheet1.xml", 100)
    message = refusal(lying, people)
    assert "xl/worksheets/sheet1.xml" in message
    assert "damaged" in message


def test_xml_with_entities_is_not_parsed(people: People) -> None:
    laughs = '<!DOCTYPE worksheet [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    sheet = "<sheetData>" + row(1, cell("A1", "&b;")) + "</sheetData>"
    assert refusal(package(sheet, prologue=laughs), people) == (
        "xl/worksheets/sheet1.xml declares a DTD or entities, which no .xlsx file does: it was"
        " not saved by a spreadsheet program and is not read."
    )


def test_xml_with_an_external_entity_is_not_parsed(people: People) -> None:
    external = '<!DOCTYPE worksheet [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    sheet = "<sheetData>" + row(1, cell("A1", "&x;")) + "</sheetData>"
    assert "declares a DTD or entities" in refusal(package(sheet, prologue=external), people)


def test_a_sheet_claiming_a_million_rows(people: People) -> None:
    """The dimension says a million rows: only the rows present are read, blank ones skipped."""
    values = {"B": "Fibre", "C": "Ada Lovelace", "E": "Active", "F": "Grace Hopper"}
    data_row = [cell(f"{column}2", text) for column, text in values.items()]
    sheet = (
        '<dimension ref="A1:H1048576"/><sheetData>'
        + header_row()
        + row(2, *data_row)
        + '<row r="3"/><row r="500000"><c r="A500000" s="0"/></row>'
        + row(1048576, cell("H1048576", "a stray note"))
        + "</sheetData>"
    )
    data = package(sheet)
    assert len(list(open_workbook(data, Limits()).rows)) == 3
    outcome = judge(data, people.directory)
    assert outcome.table.rows_total == 2
    assert len(outcome.valid) == 1
    assert outcome.messages(1048576) == [
        "Subscription Name is required",
        "Contact is required",
        "Status is required",
        "Engineer is required",
    ]


def test_formulas_use_their_stored_value_and_need_one(people: People) -> None:
    stored = '<c r="C2" t="str"><f>"Ada "&amp;"Lovelace"</f><v>Ada Lovelace</v></c>'
    unstored = '<c r="C3"><f>A1</f></c>'
    sheet = (
        "<sheetData>"
        + header_row()
        + row(2, cell("B2", "Fibre"), stored, cell("E2", "Active"), cell("F2", "Grace Hopper"))
        + row(3, cell("B3", "Fibre"), unstored, cell("E3", "Active"), cell("F3", "Grace Hopper"))
        + "</sheetData>"
    )
    outcome = judge(package(sheet), people.directory)
    assert [r.contact_id for r in outcome.valid] == [people.ada]
    assert outcome.messages(3) == [
        "Contact is a formula with no stored value: open the file in a spreadsheet program so"
        " that it calculates, save it and upload it again"
    ]


def test_formulas_saved_without_calculating(people: People) -> None:
    """openpyxl writes formulas with an empty value: there is nothing to read."""
    data = xlsx([HEADERS, ["", '=UPPER("fibre")', *GOOD[2:]]])
    assert judge(data, people.directory).errors[2] == [
        (
            "Subscription Name",
            "Subscription Name is a formula with no stored value: open the file in a"
            " spreadsheet program so that it calculates, save it and upload it again",
        )
    ]


def test_dates_and_numbers_where_text_is_expected(people: People) -> None:
    data = xlsx(
        [
            HEADERS,
            [12345, 1234567890123, *GOOD[2:7], 12.5],
            ["SUB-9", 3.0, *GOOD[2:7], None],
            ["", datetime.date(2024, 1, 2), *GOOD[2:]],
            ["", "Fibre", *GOOD[2:7], datetime.datetime(2024, 1, 2, 13, 45)],
        ]
    )
    outcome = judge(data, people.directory)
    assert [(r.unique_id, r.name, r.description) for r in outcome.valid] == [
        ("12345", "1234567890123", "12.5"),
        ("SUB-9", "3", None),
    ]
    assert outcome.messages(4) == [
        "Subscription Name holds a date or time (2024-01-02) where text is expected: format the"
        " cells as Text and type the value again"
    ]
    assert outcome.messages(5) == [
        "Description holds a date or time (2024-01-02 13:45:00) where text is expected: format"
        " the cells as Text and type the value again"
    ]


def test_merged_cells(people: People) -> None:
    rows = [HEADERS, ["", "Fibre A", *GOOD[2:]], ["", "Fibre B", *GOOD[2:5], None, *GOOD[6:]]]
    outcome = judge(xlsx(rows, merges=["F2:F3"]), people.directory)
    expected = "Engineer is part of the merged cells F2:F3: unmerge them, fill in every row"
    assert outcome.messages(2) == [expected]
    assert outcome.messages(3) == [expected]
    assert outcome.valid == []


def test_merged_header_cells(people: People) -> None:
    data = xlsx([HEADERS, ["", "Fibre", *GOOD[2:]]], merges=["G1:H1"])
    assert refusal(data, people) == (
        "The header cells G1:H1 are merged: unmerge them so that every column has a header of"
        " its own."
    )


def test_extra_sheets_only_the_subscriptions_sheet_is_read(people: People) -> None:
    data = xlsx([HEADERS, ["", "Fibre", *GOOD[2:]]], before=["Instructions", "Notes"])
    workbook = open_workbook(data, Limits())
    assert (workbook.sheet_name, workbook.other_sheets) == (
        "Subscriptions",
        ("Instructions", "Notes"),
    )
    assert len(judge(data, people.directory).valid) == 1


def test_extra_sheets_without_a_subscriptions_sheet_the_first_is_read(people: People) -> None:
    data = xlsx([HEADERS, ["", "Fibre", *GOOD[2:]]], title="Data", before=["Notes"])
    assert refusal(data, people) == (
        "No header row: row 1 of the sheet 'Notes' must name the columns Subscription Name,"
        " Contact, Status, Engineer (missing: Subscription Name, Contact, Status, Engineer)."
    )


def test_over_the_size_limit(people: People) -> None:
    data = xlsx([HEADERS, ["", "Fibre", *GOOD[2:]]])
    message = refusal(data, people, Limits(max_file_bytes=1024))
    assert message.startswith("The file is ")
    assert message.endswith("KiB, more than the 1 KiB allowed: split it into several files.")


def test_over_the_row_limit(people: People) -> None:
    rows = [HEADERS, *(["", f"Fibre {n}", *GOOD[2:]] for n in range(4))]
    assert refusal(xlsx(rows), people, Limits(max_rows=3)) == (
        "The sheet 'Subscriptions' has more than 3 rows of data: split it into several files."
    )
    assert judge(xlsx(rows), people.directory, Limits(max_rows=4)).table.rows_total == 4


def test_an_empty_sheet(people: People) -> None:
    assert refusal(xlsx([]), people) == "The sheet 'Subscriptions' is empty."


@pytest.mark.parametrize(
    ("rows", "what"),
    [
        (row(1, cell("XFE1", "x")), "cell XFE1 of row 1 is outside a sheet"),
        (row(1, cell("12", "x")), "cell '12' of row 1 has no column"),
        ('<row r="5"/><row r="3"/>', "row 3 comes after row 5"),
        ('<row r="1048577"/>', "row 1048577 comes after row 0"),
    ],
)
def test_a_damaged_sheet(people: People, rows: str, what: str) -> None:
    sheet = f"<sheetData>{rows}</sheetData>"
    assert refusal(package(sheet), people) == (
        f"The file is damaged: in xl/worksheets/sheet1.xml, {what}."
    )
