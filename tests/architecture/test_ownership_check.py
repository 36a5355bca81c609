"""The table-ownership scan itself: it reports what it must and nothing else."""

from __future__ import annotations

from tests.architecture.test_table_ownership import check_migration, check_python


def _reported(path: str, source: str) -> list[str]:
    return [str(violation) for violation in check_python(path, source)]


def test_a_write_of_another_owners_table_is_reported_even_in_an_allowed_reader() -> None:
    source = 'GAP = "select 1"\nFIX = """\nINSERT INTO events.events (data) values ($1)\n"""\n'
    assert _reported("services/projections/store.py", source) == [
        "services/projections/store.py:3 names events.events owned by subscription (writes it)"
    ]


def test_a_read_outside_the_allowed_modules_is_reported() -> None:
    source = 'HEAD = "select max(position) from events.events"\n'
    assert _reported("services/importer/run.py", source) == [
        "services/importer/run.py:1 names events.events owned by subscription"
    ]


def test_allowed_reads_own_tables_docstrings_and_comments_are_not_reported() -> None:
    source = (
        '"""Reads read.subscriptions, as prose."""\n'
        "# update read.subscriptions in a comment\n"
        'LIST = "select id from read.subscriptions join read.directory using (id)"\n'
        'OWN = "insert into events.reservations (value) values ($1)"\n'
        'SUBJECT = f"{ns}.events.default.subscription.created"\n'
    )
    assert _reported("services/subscription/read/subscriptions.py", source) == []


def test_a_schema_nobody_owns_yet_is_reported() -> None:
    source = 'INVOICES = "select total from billing.invoices"\n'
    assert _reported("services/subscription/read/x.py", source) == [
        "services/subscription/read/x.py:1 names billing.invoices owned by nobody "
        "(no migration creates it)"
    ]


def test_a_migration_that_builds_on_another_owners_table_is_reported() -> None:
    source = (
        "-- read.directory is theirs\ncreate view imports.refs as select * from read.directory;\n"
    )
    assert [str(v) for v in check_migration("services/importer/migrations/0002.x.sql", source)] == [
        "services/importer/migrations/0002.x.sql:2 names read.directory owned by projections"
    ]
