"""The refusals both entry points render: broken rules, taken values, stale versions, races.

Entry points import them from here only, never from the write side, and decide themselves how
each is shown (a problem response, a message next to a form field).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from services.subscription.domain.errors import (
    AlreadyActive,
    AlreadyExists,
    Closed,
    Conflict,
    DomainError,
    Invalid,
    NotClosed,
    NotFound,
    PlanRetired,
)
from services.subscription.write.eventstore import ReservationTaken
from services.subscription.write.handlers import LostRace, VersionMismatch

_CLAIM_LABELS = {
    "ipv4": "IPv4",
    "ipv6": "IPv6",
    "pppoe": "PPPoE username",
    "hotspot_login": "hotspot login",
    "unique_id": "unique ID",
}


class IdempotencyKeyReused(Exception):
    """An idempotency key sent again with another request than the first."""

    def __init__(self, key: str) -> None:
        super().__init__("this Idempotency-Key was already used with another request")
        self.key = key


def taken_message(exc: ReservationTaken) -> str:
    """What a taken address or login is, and which subscription holds it (by its unique ID)."""
    label = _CLAIM_LABELS.get(exc.reservation.kind, exc.reservation.kind)
    held = "" if exc.held == exc.reservation.value else f" (overlaps {exc.held})"
    holder = exc.holder_unique_id
    return f"{label} {exc.reservation.value}{held} is already used by subscription {holder}"


# What pydantic adds to an error's location when a field takes one of several types (a price as
# text or a number, a value or null): the member that refused, never a field of the request.
_UNION_MEMBERS = frozenset(
    {"str", "int", "float", "bool", "decimal", "none", "list", "dict", "date", "datetime", "uuid"}
)


def _is_member(part: Any) -> bool:
    return isinstance(part, str) and (part in _UNION_MEMBERS or "[" in part or "-" in part)


def _pointer(loc: tuple[Any, ...]) -> str:
    parts = list(loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc)
    named = [p for p in parts if not _is_member(p)]
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in named)


def field_errors(found: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """pydantic's errors as `{pointer, detail}`, the pointer naming the field at fault."""
    errors = []
    for error in found:
        loc = tuple(error.get("loc", ()))
        if error.get("type") == "json_invalid":
            errors.append({"pointer": "", "detail": f"malformed JSON: {error.get('msg')}"})
        elif error.get("type") == "extra_forbidden":
            errors.append({"pointer": _pointer(loc), "detail": "unknown field"})
        elif error.get("type") == "missing" and loc == ("body",):
            errors.append({"pointer": "", "detail": "a JSON body is required"})
        elif loc and loc[0] in ("query", "header"):
            name = str(loc[1]) if len(loc) > 1 else ""
            detail = f"{loc[0]} parameter {name}: {error.get('msg', 'invalid value')}"
            errors.append({"pointer": f"/{name}", "detail": detail})
        else:
            errors.append({"pointer": _pointer(loc), "detail": str(error.get("msg", "invalid"))})
    return errors


__all__ = [
    "AlreadyActive",
    "AlreadyExists",
    "Closed",
    "Conflict",
    "DomainError",
    "IdempotencyKeyReused",
    "Invalid",
    "LostRace",
    "NotClosed",
    "NotFound",
    "PlanRetired",
    "ReservationTaken",
    "VersionMismatch",
    "field_errors",
    "taken_message",
]
