"""Problem details name the field at fault, never the type pydantic tried inside a union."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from services.subscription.usecases.errors import field_errors


class Price(BaseModel):
    price: Decimal | str
    limits: list[int | None] = []


def _pointers(body: object) -> list[str]:
    with pytest.raises(ValidationError) as refused:
        Price.model_validate(body)
    return sorted({e["pointer"] for e in field_errors(refused.value.errors())})


def test_a_null_in_a_union_field_names_the_field() -> None:
    assert _pointers({"price": None}) == ["/price"]


def test_list_items_keep_their_index() -> None:
    assert _pointers({"price": "1", "limits": [1, "x"]}) == ["/limits/1"]


def test_a_missing_field_is_named() -> None:
    assert _pointers({}) == ["/price"]
