"""Use cases of the directory: register, edit, deactivate and reactivate contacts,
organizations, engineers and service contracts."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from contracts.commands import (
    DeactivateEntry,
    DirectoryKind,
    EditEntry,
    ReactivateEntry,
    RegisterEntry,
)
from services.subscription.usecases.calls import CREATED, Call, Result, Runner, changed, now
from services.subscription.usecases.inputs import Body, DeactivateIn, ReactivateIn
from services.subscription.write.handlers import Outcome


class Directory:
    """Changes to directory entries, for a caller."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner

    async def register(self, call: Call, kind: DirectoryKind, data: Body) -> Result:
        """A new entry of the kind: its id and the position of its first event."""
        entry_id = uuid4()
        fields = data.model_dump(mode="json")
        command = RegisterEntry(kind=kind, entry_id=entry_id, fields=fields, now=now())

        def answer(outcome: Outcome) -> tuple[str, dict[str, Any]]:
            return CREATED, {"id": str(outcome.stream_id), "position": outcome.position}

        return await self._runner.directory(call, command, answer)

    async def edit(self, call: Call, kind: DirectoryKind, entry_id: UUID, data: Body) -> Result:
        """Change the fields sent, leaving the others as they are."""
        command = EditEntry(kind=kind, entry_id=entry_id, fields=data.given(), now=now())
        return await self._runner.directory(call, command, changed)

    async def deactivate(
        self, call: Call, kind: DirectoryKind, entry_id: UUID, data: DeactivateIn | None
    ) -> Result:
        """Deactivate an entry: it can no longer be newly referenced."""
        reason = data.reason if data else None
        command = DeactivateEntry(kind=kind, entry_id=entry_id, reason=reason, now=now())
        return await self._runner.directory(call, command, changed)

    async def reactivate(
        self,
        call: Call,
        kind: DirectoryKind,
        entry_id: UUID,
        data: ReactivateIn | DeactivateIn | None,
    ) -> Result:
        """Reactivate a deactivated entry: it can be newly referenced again."""
        reason = data.reason if data else None
        command = ReactivateEntry(kind=kind, entry_id=entry_id, reason=reason, now=now())
        return await self._runner.directory(call, command, changed)
