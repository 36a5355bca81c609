"""Formula neutralising: no part of an exported cell runs as a formula, and the import undoes it."""

from __future__ import annotations

import csv
import io
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.spreadsheet import neutralise, restore
from services.subscription.sheets.files import csv_bytes

# Text made of what matters here: formula starts, separators of every locale, quotes, letters.
TRICKY = st.text(alphabet="ab =+-@\t\r\n,;|'\"", max_size=24)


@settings(max_examples=500)
@given(TRICKY)
def test_no_part_between_separators_starts_a_formula(text: str) -> None:
    for part in re.split(r"[,;\t|\n\r]", neutralise(text)):
        assert not part.startswith(("=", "+", "-", "@"))


@settings(max_examples=500)
@given(TRICKY)
def test_the_import_gets_the_text_back(text: str) -> None:
    assert restore(neutralise(text)) == text


def test_a_formula_after_a_semicolon_is_neutralised() -> None:
    assert neutralise("x;=cmd|' /C calc'!A0") == "x;'=cmd|' /C calc'!A0"
    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("plain text, no formula") == "plain text, no formula"


@settings(max_examples=200)
@given(st.lists(st.one_of(st.none(), TRICKY), min_size=1, max_size=5))
def test_csv_quotes_every_field_and_reads_back(row: list[str | None]) -> None:
    data = csv_bytes([row]).decode()
    fields = next(csv.reader(io.StringIO(data, newline="")))
    assert [restore(f) for f in fields] == [v or "" for v in row]
    assert data.startswith('"')
