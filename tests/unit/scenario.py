"""Given/when/then over a decider module: `given(*events).when(command).then(*events)`.

The given events go through the event store's JSON form (`parse_payload`) before the fold, so a
test folds exactly what a handler loading the stream would fold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce
from types import ModuleType
from typing import Any

import pytest

from contracts.base import Command, Event
from contracts.events import parse_payload
from services.subscription.domain.errors import DomainError


def stored(event: Event) -> Event:
    """The event as a reader of the event store gets it back (JSON there and back)."""
    data = event.model_dump(mode="json")
    return parse_payload(data.pop("type"), 1, data)


@dataclass(frozen=True)
class Decider:
    """The three functions of a decider module."""

    decide: Callable[..., list[Event]]
    evolve: Callable[[Any, Event], Any]
    initial_state: Any

    @classmethod
    def of(cls, module: ModuleType) -> Decider:
        """The decider a module defines as `decide`, `evolve` and `initial_state`."""
        return cls(module.decide, module.evolve, module.initial_state)

    def fold(self, events: tuple[Event, ...]) -> Any:
        """State after the events, as a handler loading the stream would build it."""
        return reduce(self.evolve, (stored(e) for e in events), self.initial_state)

    def given(self, *events: Event) -> Given:
        """Start a scenario from a stream holding these events."""
        return Given(self, events)


@dataclass(frozen=True)
class Given:
    decider: Decider
    events: tuple[Event, ...]

    def when(self, command: Command, **context: Any) -> When:
        """Decide the command; `context` goes to `decide` as keywords (e.g. `directory=`)."""
        return When(self, command, context)


@dataclass(frozen=True)
class When:
    given: Given
    command: Command
    context: dict[str, Any]

    def _decide(self) -> list[Event]:
        state = self.given.decider.fold(self.given.events)
        return self.given.decider.decide(self.command, state, **self.context)

    def then(self, *expected: Event) -> Any:
        """Assert the decided events; return the state after them, for further checks."""
        decided = self._decide()
        assert decided == list(expected)
        return self.given.decider.fold((*self.given.events, *decided))

    def then_raises(
        self, error: type[DomainError], *, pointer: str | None = None, match: str | None = None
    ) -> DomainError:
        """Assert the command is refused with this error (and JSON pointer); return it."""
        with pytest.raises(error, match=match) as caught:
            self._decide()
        assert caught.value.pointer == pointer
        return caught.value
