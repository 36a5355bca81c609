"""Forms in, use cases out: a form's values checked by the use cases' input models, the use case
called for the signed-in principal, and every refusal mapped onto the field it names (the
pointer the API's problem responses give too), so the page can show it next to that field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from services.subscription.access.tokens import Principal
from services.subscription.usecases.calls import Call, Result
from services.subscription.usecases.errors import (
    AlreadyExists,
    Closed,
    Conflict,
    DomainError,
    LostRace,
    NotFound,
    ReservationTaken,
    VersionMismatch,
    field_errors,
    taken_message,
)
from services.subscription.web.fields import Field
from services.subscription.web.session import remember_write

Model = TypeVar("Model", bound=BaseModel)

# The form field that holds a taken value, by the kind of reservation.
TAKEN_FIELD = {"ipv4": "ipv4", "ipv6": "ipv6", "pppoe": "pppoe_username", "hotspot_login": "login"}
REQUIRED = {"missing", "string_too_short"}
LIST_SEPARATORS = re.compile(r"[\s,;]+")
ZONED = re.compile(r"(Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)
MAX_OFFSET_MINUTES = 14 * 60


@dataclass
class Rejected(Exception):
    """What the page shows when a form is refused: messages by field, and one for the form."""

    status: int
    fields: dict[str, str] = field(default_factory=dict)
    message: str | None = None


@dataclass
class Stale(Rejected):
    """The form was opened at a version someone else has changed since (`current` now)."""

    current: int = 0


def values(form: FormData, names: Iterable[str]) -> dict[str, str]:
    """The form's text values as typed, to fill the form again after a refusal."""
    return {name: str(form.get(name) or "") for name in names}


def body(
    typed: dict[str, str], lists: Iterable[str] = (), moments: Iterable[str] = (), zone: str = "Z"
) -> dict[str, Any]:
    """A request body from typed values: blanks left out, list fields split on commas or spaces,
    date-times without a zone given the browser's (a datetime-local input sends none)."""
    found: dict[str, Any] = {}
    for name, text in typed.items():
        text = text.strip()
        if name in lists:
            found[name] = [part for part in LIST_SEPARATORS.split(text) if part]
        elif text and name in moments and not ZONED.search(text):
            found[name] = text + zone
        elif text:
            found[name] = text
    return found


def opened(form: FormData) -> dict[str, str] | None:
    """The values the form showed when it was opened (its hidden `opened` field), if it has it."""
    try:
        found = json.loads(str(form.get("opened") or ""))
    except ValueError:
        return None
    if not isinstance(found, dict):
        return None
    return {str(k): str(v) for k, v in found.items() if isinstance(v, str)}


def changes(
    typed: dict[str, str],
    shown: dict[str, str] | None,
    moments: Iterable[str] = (),
    zone: str = "Z",
) -> dict[str, str]:
    """What was typed differently from what the form showed (everything without `shown`), so
    that an edit changes only those fields and leaves another person's changes to others. A
    moment is compared as the instant it names (shown in UTC, typed in the browser's zone)."""
    if shown is None:
        return dict(typed)
    moments = set(moments)
    return {
        name: text
        for name, text in typed.items()
        if not _same(shown.get(name, ""), text, zone if name in moments else None)
    }


def _same(shown: str, typed: str, zone: str | None) -> bool:
    if shown == typed or zone is None:
        return shown == typed
    try:
        then = datetime.fromisoformat(shown if ZONED.search(shown) else shown + "Z")
        now = datetime.fromisoformat(typed if ZONED.search(typed) else typed + zone)
    except ValueError:
        return False
    return then == now


def patch_body(
    changed: dict[str, str],
    lists: Iterable[str] = (),
    moments: Iterable[str] = (),
    zone: str = "Z",
) -> dict[str, Any]:
    """A partial update from the changed values: a field emptied is sent as null (cleared)."""
    lists = tuple(lists)
    found = body(changed, lists, moments, zone)
    for name, text in changed.items():
        if name not in found and not text.strip():
            found[name] = None
    return found


def required(fields: Iterable[Field], typed: dict[str, str]) -> None:
    """Refuse a form whose required fields were left empty, naming each."""
    missing = {
        f.name: "This field is required."
        for f in fields
        if f.required and not typed.get(f.name, "").strip()
    }
    if missing:
        raise Rejected(422, missing)


def browser_zone(form: FormData) -> str:
    """The zone the page's script read from the browser (`tz_offset`, minutes west of UTC);
    UTC without the script."""
    raw = str(form.get("tz_offset") or "")
    if not re.fullmatch(r"-?\d{1,3}", raw) or abs(int(raw)) > MAX_OFFSET_MINUTES:
        return "Z"
    east = -int(raw)
    sign = "+" if east >= 0 else "-"
    return f"{sign}{abs(east) // 60:02d}:{abs(east) % 60:02d}"


def validated(model: type[Model], data: dict[str, Any]) -> Model:
    """The use case's input model of the data, or the refusal naming each field at fault."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        found: dict[str, str] = {}
        for error, raw in zip(field_errors(exc.errors()), exc.errors(), strict=True):
            message = "This field is required." if raw["type"] in REQUIRED else error["detail"]
            found.setdefault(_field(error["pointer"]) or "", message)
        general = found.pop("", None)
        raise Rejected(422, found, general) from None


def page_call(principal: Principal, form_key: str | None = None) -> Call:
    """The signed-in principal's call; a form key makes a second submit of the same form (a
    double click, a reload) answer what the first did, as an API Idempotency-Key would."""
    key = f"admin-form:{form_key}" if form_key else None
    return Call(
        principal.name, principal.tenant_id, idempotency_key=key, request_hash=form_key or ""
    )


async def carried_out(request: Request, pending: Awaitable[Result]) -> Result:
    """The use case's result, its refusals as Rejected; the next pages wait to show it."""
    try:
        result = await pending
    except DomainError as exc:
        raise refusal(exc) from None
    except ReservationTaken as exc:
        detail = taken_message(exc)
        where = TAKEN_FIELD.get(exc.reservation.kind)
        raise Rejected(409, {where: detail} if where else {}, None if where else detail) from None
    except LostRace as exc:
        raise Rejected(409, message=f"{exc}.") from None
    except VersionMismatch as exc:
        raise Stale(409, current=exc.current) from None
    remember_write(request, result.position)
    return result


def refusal(exc: DomainError) -> Rejected:
    """A broken rule as the page shows it: by its field when it names one."""
    status = _status(exc)
    where = _field(exc.pointer)
    if where:
        return Rejected(status, {where: exc.message})
    return Rejected(status, message=exc.message)


def _status(exc: DomainError) -> int:
    match exc:
        case NotFound():
            return 404
        case Closed() | AlreadyExists() | Conflict():
            return 409
        case _:
            return 422


def _field(pointer: str | None) -> str | None:
    """The form field a JSON pointer names (`/ipv4/1` is the field `ipv4`)."""
    if not pointer:
        return None
    return pointer.lstrip("/").split("/")[0] or None
