"""Checks of item fields that name the field at fault with a JSON pointer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from contracts.values import check_moment, check_text
from services.subscription.domain.errors import Invalid

T = TypeVar("T")


class Fields:
    """Reads and checks one item's fields; every error names its field."""

    def __init__(self, values: Mapping[str, Any], allowed: set[str], prefix: str = "") -> None:
        unknown = sorted(set(values) - allowed)
        if unknown:
            raise Invalid(f"unknown field {unknown[0]!r}", f"{prefix}/{unknown[0]}")
        self._values = values
        self._prefix = prefix

    def pointer(self, name: str) -> str:
        return f"{self._prefix}/{name}"

    def text(
        self, name: str, *, required: bool = False, max_length: int = 200, multiline: bool = False
    ) -> str | None:
        value = self._values.get(name)
        if value is None:
            if required:
                raise Invalid(f"{name} is required", self.pointer(name))
            return None
        if not isinstance(value, str):
            raise Invalid(f"{name} must be text", self.pointer(name))
        value = value.strip()
        if not value:
            if required:
                raise Invalid(f"{name} must not be empty", self.pointer(name))
            return None
        if len(value) > max_length:
            raise Invalid(f"{name} must be at most {max_length} characters", self.pointer(name))
        return self.checked(name, check_text, value, multiline=multiline)

    def checked(self, name: str, check: Callable[..., T], value: Any, **options: Any) -> T:
        """A value run through a contracts.values check; its ValueError becomes Invalid."""
        try:
            return check(value, **options)
        except ValueError as exc:
            raise Invalid(f"{name} {exc}", self.pointer(name)) from None

    def token(self, name: str, *, required: bool = False, max_length: int = 64) -> str | None:
        """Text without spaces: logins, usernames, voucher codes."""
        value = self.text(name, required=required, max_length=max_length)
        if value is not None and any(c.isspace() for c in value):
            raise Invalid(f"{name} must not contain spaces", self.pointer(name))
        return value

    def whole(
        self, name: str, *, required: bool = False, low: int = 1, high: int = 10**9
    ) -> int | None:
        value = self._values.get(name)
        if value is None:
            if required:
                raise Invalid(f"{name} is required", self.pointer(name))
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(f"{name} must be a whole number", self.pointer(name))
        if not low <= value <= high:
            raise Invalid(f"{name} must be between {low} and {high}", self.pointer(name))
        return value

    def choice(self, name: str, options: tuple[str, ...], default: str | None = None) -> str:
        value = self._values.get(name, default)
        if value not in options:
            raise Invalid(f"{name} must be one of {', '.join(options)}", self.pointer(name))
        return str(value)

    def moment(self, name: str, *, required: bool = False) -> datetime | None:
        value = self._values.get(name)
        if value is None:
            if required:
                raise Invalid(f"{name} is required", self.pointer(name))
            return None
        if isinstance(value, datetime):
            parsed = value
        else:
            try:
                parsed = datetime.fromisoformat(str(value))
            except ValueError:
                raise Invalid(
                    f"{name} must be a date-time (ISO 8601, e.g. 2026-01-31T09:00:00Z)",
                    self.pointer(name),
                ) from None
        return self.checked(name, check_moment, parsed)

    def parsed(self, name: str, parse: Callable[[str], Any], *, required: bool = False) -> Any:
        """A value run through a contracts.values parser; its ValueError becomes Invalid."""
        value = self.text(name, required=required, max_length=100)
        if value is None:
            return None
        try:
            return parse(value)
        except ValueError as exc:
            raise Invalid(str(exc), self.pointer(name)) from None

    def parsed_list(self, name: str, parse: Callable[[str], str], max_items: int = 64) -> list[str]:
        value = self._values.get(name) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise Invalid(f"{name} must be a list of text", self.pointer(name))
        if len(value) > max_items:
            raise Invalid(f"{name} holds at most {max_items} entries", self.pointer(name))
        result = []
        for index, item in enumerate(value):
            try:
                result.append(parse(item))
            except ValueError as exc:
                raise Invalid(str(exc), f"{self.pointer(name)}/{index}") from None
        return result
