"""A detour from a form and back: leave the Add Subscription form to choose or add a directory
entry, and come back to it with that entry chosen and everything typed kept.

The form's typed values travel in the query of the way back (`back`, a path of these pages
only); the entry chosen or added is set on it as the field named by `field`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from services.subscription.web.pages import with_query

FIELD_NAME = re.compile(r"[a-z][a-z_]{0,39}")
MAX_BACK = 64_000  # characters: a form with a long description; browsers and uvicorn take more


@dataclass(frozen=True)
class Detour:
    """Where to come back to (`back`) and which of its fields to fill (`field`)."""

    field: str
    back: str

    @classmethod
    def of(cls, params: Mapping[str, object]) -> Detour | None:
        """The detour a request carries, if it carries a valid one (never another site)."""
        field, back = str(params.get("field") or ""), str(params.get("back") or "")
        if not FIELD_NAME.fullmatch(field) or not is_local(back):
            return None
        return cls(field, back)

    def returning(self, entry_id: object) -> str:
        """The way back with the entry chosen in the detour's field."""
        parts = urlsplit(self.back)
        kept = [
            (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != self.field
        ]
        return urlunsplit(("", "", parts.path, urlencode([*kept, (self.field, str(entry_id))]), ""))

    def query(self) -> dict[str, str]:
        """The detour as query parameters of the pages on the way."""
        return {"field": self.field, "back": self.back}


def is_local(path: str) -> bool:
    """Whether `path` is a page of these pages' own (`/admin/...`), so never another site."""
    parts = urlsplit(path)
    return (
        0 < len(path) <= MAX_BACK
        and not parts.scheme
        and not parts.netloc
        and parts.path.startswith("/admin/")
        and "\\" not in path
    )


def back_to(path: str, typed: Mapping[str, str]) -> str:
    """The form at `path` again, with what was typed (blank fields left out)."""
    return with_query(path, **typed)
