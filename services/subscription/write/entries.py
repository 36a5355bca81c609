"""Directory entries as the subscription decider sees them, remembered by each process.

A create names a contact and an engineer that rarely change, so reading and folding their
streams for every create is a round trip and a fold spent on the same answer. What is
remembered is only what was read, with the version it was read at: the append is conditioned on
each entry still being at that version (`StreamAppend.expect`), and a changed entry is read
again (`StaleRead`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any
from uuid import UUID

from plumbing.eventlog import StoredEvent
from services.subscription.domain import directory, subscription

# Entries remembered per process, the oldest forgotten first: a few MB at most.
MAX_REMEMBERED = 20_000

# An entry as read: its stream's version (0: no event) and what the decider sees of it.
Read = tuple[int, subscription.Reference | None]


class Entries:
    """The directory entries this process read or wrote last, by tenant and id."""

    def __init__(self, limit: int = MAX_REMEMBERED) -> None:
        self._limit = limit
        self._read: dict[tuple[str, UUID], Read] = {}

    def known(self, tenant_id: str, entry_ids: Iterable[UUID]) -> dict[UUID, Read]:
        """The entries of these ids this process remembers."""
        found = {}
        for entry_id in entry_ids:
            read = self._read.get((tenant_id, entry_id))
            if read is not None:
                found[entry_id] = read
        return found

    def fold(self, tenant_id: str, streams: Mapping[UUID, list[StoredEvent]]) -> dict[UUID, Read]:
        """Entries read from their streams (an empty one: no such entry), remembered."""
        found = {}
        for entry_id, events in streams.items():
            state = _fold(directory.evolve, directory.initial_state, events)
            read = (events[-1].version if events else 0, reference(state))
            found[entry_id] = read
            if events:  # an id with no event yet may be registered later: not remembered
                self.remember(tenant_id, entry_id, *read)
        return found

    def remember(
        self,
        tenant_id: str,
        entry_id: UUID,
        version: int,
        found: subscription.Reference | None,
    ) -> None:
        """An entry at a version, as this process read or wrote it."""
        self._read.pop((tenant_id, entry_id), None)
        self._read[(tenant_id, entry_id)] = (version, found)
        while len(self._read) > self._limit:
            del self._read[next(iter(self._read))]

    def forget(self, tenant_id: str, entry_ids: Iterable[UUID]) -> None:
        """Entries found changed: read them again next time."""
        for entry_id in entry_ids:
            self._read.pop((tenant_id, entry_id), None)


def reference(state: directory.EntryState) -> subscription.Reference | None:
    """What the subscription decider sees of a directory entry (None: there is none)."""
    if isinstance(state, directory.Registered):
        return subscription.Reference(state.kind, state.active)
    return None


def references(streams: Mapping[UUID, list[StoredEvent]]) -> subscription.Directory:
    """Directory entries as the subscription decider sees them (import batches use it too)."""
    found = {}
    for entry_id, events in streams.items():
        ref = reference(_fold(directory.evolve, directory.initial_state, events))
        if ref is not None:
            found[entry_id] = ref
    return found


def _fold(evolve: Callable[[Any, Any], Any], initial: Any, stream: list[StoredEvent]) -> Any:
    state = initial
    for event in stream:
        state = evolve(state, event.payload())
    return state
