"""Reading and checking rows: headers, values, references, repeats, what a failed row keeps."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from contracts.spreadsheet import neutralise
from contracts.subscription import Status
from services.importer.table import records, scan
from services.importer.validation import idempotency_key
from services.importer.xlsx import Limits, Refused, open_workbook
from services.importer.xlsx.cells import number_text
from tests.importer.offline import People, judge
from tests.importer.workbooks import HEADERS, xlsx

GOOD = ["", "Fibre home", "Ada Lovelace", "", "Active", "Grace Hopper", "", ""]


@pytest.fixture
def people() -> People:
    return People()


def test_headers_match_forgivingly_in_any_order_with_extra_columns(people: People) -> None:
    headers = ["  ENGINEER ", "notes", "status", "subscription_name", "Contact", "unique id"]
    data = xlsx([headers, ["Grace Hopper", "call first", "active", "Fibre", "Ada Lovelace", "X-1"]])
    outcome = judge(data, people.directory)
    assert outcome.errors == {}
    [row] = outcome.valid
    assert (row.row, row.unique_id, row.name, row.status) == (2, "X-1", "Fibre", Status.ACTIVE)
    assert (row.contact_id, row.engineer_id) == (people.ada, people.grace)


def test_a_title_row_above_the_header_is_passed_over(people: People) -> None:
    data = xlsx([["Subscriptions of ACME ISP"], [], HEADERS, ["", "Fibre", *GOOD[2:]]])
    outcome = judge(data, people.directory)
    assert outcome.table.header.row == 3
    assert [r.row for r in outcome.valid] == [4]


def test_missing_required_columns(people: People) -> None:
    data = xlsx([["Subscription Name", "Contact"], ["Fibre", "Ada Lovelace"]])
    with pytest.raises(Refused, match=r"row 1 .* \(missing: Status, Engineer\)"):
        judge(data, people.directory)


def test_a_column_named_twice(people: People) -> None:
    data = xlsx([[*HEADERS, "contact"], ["", "Fibre", *GOOD[2:], "x"]])
    with pytest.raises(Refused) as refused:
        judge(data, people.directory)
    assert refused.value.message == (
        "The column Contact appears twice in the header (row 1, columns C and I): keep one."
    )


def test_blank_rows_are_skipped_and_not_counted(people: People) -> None:
    data = xlsx([HEADERS, ["", "A", *GOOD[2:]], [None] * 8, ["  ", "", None], ["", "B", *GOOD[2:]]])
    outcome = judge(data, people.directory)
    assert outcome.table.rows_total == 2
    assert [r.row for r in outcome.valid] == [2, 5]


def test_status_in_any_case_and_a_wrong_one(people: People) -> None:
    rows = [HEADERS, ["", "A", "Ada Lovelace", "", "sUsPeNdEd", "Grace Hopper"]]
    rows.append(["", "B", "Ada Lovelace", "", "Paused", "Grace Hopper"])
    outcome = judge(xlsx(rows), people.directory)
    assert [r.status for r in outcome.valid] == [Status.SUSPENDED]
    assert outcome.errors[3] == [
        (
            "Status",
            "Status 'Paused' is not one of Active, Inactive, Suspended, Cancelled, Completed",
        )
    ]


def test_references_by_id_email_or_exact_name(people: People) -> None:
    rows = [
        HEADERS,
        ["", "A", str(people.ada), "Acme", "Active", "GRACE@example.com", "SC-1", ""],
        ["", "B", "ada@EXAMPLE.com", str(people.acme), "Active", "Grace Hopper", "Fibre 100"],
    ]
    outcome = judge(xlsx(rows), people.directory)
    assert outcome.errors == {}
    for r in outcome.valid:
        assert (r.contact_id, r.organization_id) == (people.ada, people.acme)
        assert (r.engineer_id, r.service_contract_id) == (people.grace, people.contract)


def test_references_missing_ambiguous_or_deactivated(people: People) -> None:
    rows = [
        HEADERS,
        ["", "A", "John Smith", "Nobody Inc", "Active", "grace hopper", "SC-2"],
        ["", "B", "Old Customer", "", "Active", "Grace Hopper"],
    ]
    outcome = judge(xlsx(rows), people.directory)
    assert outcome.errors[2] == [
        ("Contact", "Contact 'John Smith' matches 2 contacts: use the ID or the email or exact"
                    " name of one of them"),
        ("Organization", "Organization 'Nobody Inc' matches no organization by ID, email or"
                         " exact name"),
        ("Engineer", "Engineer 'grace hopper' matches no engineer by ID, email or exact name"),
        ("Service Contract", "Service Contract 'SC-2' matches no service contract by ID, number"
                             " or exact title"),
    ]  # fmt: skip
    assert outcome.errors[3] == [("Contact", "Contact 'Old Customer' is a deactivated contact")]


def test_another_tenants_entries_do_not_resolve(people: People) -> None:
    from services.subscription.commands.references import Directory

    data = xlsx([HEADERS, ["", "Fibre", *GOOD[2:]]])
    outcome = judge(data, Directory([]))
    assert [column for column, _ in outcome.errors[2]] == ["Contact", "Engineer"]


def test_required_values_and_lengths(people: People) -> None:
    rows = [HEADERS, ["x" * 65, "n" * 201, None, None, None, None, None, "d" * 5001]]
    assert judge(xlsx(rows), people.directory).errors[2] == [
        ("Unique ID", "Unique ID is 65 characters long, more than 64"),
        ("Subscription Name", "Subscription Name is 201 characters long, more than 200"),
        ("Contact", "Contact is required"),
        ("Status", "Status is required"),
        ("Engineer", "Engineer is required"),
        ("Description", "Description is 5,001 characters long, more than 5,000"),
    ]


def test_unique_ids_repeated_in_the_file(people: People) -> None:
    rows = [
        HEADERS,
        ["SUB-7", "A", *GOOD[2:]],
        ["SUB-8", "B", *GOOD[2:]],
        ["SUB-7", "C", *GOOD[2:]],
    ]
    outcome = judge(xlsx(rows), people.directory)
    assert [r.unique_id for r in outcome.valid] == ["SUB-7", "SUB-8"]
    assert outcome.errors[4] == [("Unique ID", "Unique ID 'SUB-7' is also on row 2")]


def test_identical_rows_are_reported(people: People) -> None:
    rows = [HEADERS, ["", "A", *GOOD[2:]], ["", "B", *GOOD[2:]], ["", "A", *GOOD[2:]]]
    outcome = judge(xlsx(rows), people.directory)
    assert [r.row for r in outcome.valid] == [2, 3]
    assert outcome.messages(4) == [
        "row 4 repeats row 2 exactly: a subscription is imported once; give it its own Unique ID"
        " or Description if it is another one"
    ]


def test_neutralised_cells_are_restored(people: People) -> None:
    description = '=HYPERLINK("http://x")'
    rows = [HEADERS, ["", neutralise("-5 Mbps plan"), *GOOD[2:7], neutralise(description)]]
    [row] = judge(xlsx(rows), people.directory).valid
    assert (row.name, row.description) == ("-5 Mbps plan", description)


def test_the_idempotency_key_depends_on_tenant_and_values_only(people: People) -> None:
    first = judge(xlsx([HEADERS, ["", "A", *GOOD[2:]]]), people.directory).valid[0]
    moved = judge(xlsx([HEADERS, [], [], ["", "A", *GOOD[2:]]]), people.directory).valid[0]
    other = judge(xlsx([HEADERS, ["", "B", *GOOD[2:]]]), people.directory).valid[0]
    assert first.row != moved.row
    assert first.idempotency_key == moved.idempotency_key != other.idempotency_key
    assert first.idempotency_key.startswith("import:")
    fields = first.model_dump(exclude={"row", "idempotency_key"})
    assert idempotency_key("another-tenant", fields) != first.idempotency_key


def test_a_failed_row_keeps_its_cells_by_header_in_file_order(people: People) -> None:
    headers = ["Subscription Name", "Notes", "Contact", "Status", "Engineer"]
    data = xlsx([headers, ["Fibre", "call first", "Nobody", "Active", 42]])
    workbook = open_workbook(data, Limits())
    [record] = list(records(workbook, scan(workbook, Limits())))
    assert record.cells == [
        ("Subscription Name", "Fibre"),
        ("Notes", "call first"),
        ("Contact", "Nobody"),
        ("Status", "Active"),
        ("Engineer", "42"),
    ]


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("42", "42"),
        ("42.0", "42"),
        ("4.2E1", "42"),
        ("1234567890123456", "1234567890123460"),
        ("0.30000000000000004", "0.3"),
        ("-12.50", "-12.5"),
        ("1E-3", "0.001"),
    ],
)
def test_numbers_read_as_text(stored: str, shown: str) -> None:
    assert number_text(stored) == shown


def test_the_api_template_as_downloaded_and_filled_in(people: People) -> None:
    from services.subscription.sheets.template import template

    blank = template(20 * 1024 * 1024)
    assert judge(blank, people.directory).table.rows_total == 0
    book = load_workbook(io.BytesIO(blank))
    book["Subscriptions"].append(["", "Fibre", *GOOD[2:]])
    filled = io.BytesIO()
    book.save(filled)
    outcome = judge(filled.getvalue(), people.directory)
    assert (outcome.table.rows_total, len(outcome.valid), outcome.errors) == (1, 1, {})
