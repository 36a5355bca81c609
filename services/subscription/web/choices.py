"""The option of a page's select: (value, label), as the form macro takes it.

Selects offer short, fixed lists (a subscription's own services); a field naming a directory
entry is a picker that searches as you type (pickers.py), as a tenant may have 100,000 of them.
"""

from __future__ import annotations

from typing import NamedTuple


class Option(NamedTuple):
    """A select's option: (value, label), as the form macro takes it."""

    value: str
    label: str
