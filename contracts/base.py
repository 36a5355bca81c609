"""Building blocks shared by every contract model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Event(BaseModel):
    """Payload of a stored event: frozen; readers ignore fields they do not know."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class Command(BaseModel):
    """An instruction to a decider: frozen, with its own ids and clock; unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldChange(BaseModel):
    """One edited field: the value before and after, as JSON scalars."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    old: str | None
    new: str | None
