"""Broken rules, each with a message a user can act on and, where it applies, the field at fault."""

from __future__ import annotations


class DomainError(Exception):
    """A command that cannot be carried out as asked."""

    def __init__(self, message: str, pointer: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.pointer = pointer


class NotFound(DomainError):
    """The stream the command is about does not exist (for this tenant)."""


class AlreadyExists(DomainError):
    """A create command for a stream that already exists."""


class Invalid(DomainError):
    """A field value the rules refuse."""


class InvalidReference(Invalid):
    """A reference to an unknown, foreign or deactivated directory entry."""


class Closed(DomainError):
    """The subscription is Cancelled or Completed and refuses the change."""


class Conflict(DomainError):
    """The resource's current state refuses the command (no field of it is at fault)."""


class NotClosed(Conflict):
    """Only a Cancelled or Completed subscription can be reopened."""


class AlreadyActive(Conflict):
    """Only a deactivated directory entry can be reactivated."""


class PlanRetired(Conflict):
    """A retired plan is offered to no new service (those on it keep it)."""
