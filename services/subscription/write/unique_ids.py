"""Human-readable subscription IDs (`SUB-000042`) from a PostgreSQL sequence per tenant.

Sequences hand out numbers outside transactions: gaps are allowed, a number is never reused,
and concurrent creates never wait on each other. Uniqueness itself is kept by the `unique_id`
reservation written with the subscription's first event.

A process takes numbers in blocks, so most creates need no round trip of their own: a tenant's
block doubles with each refill up to BLOCK, so a tenant creating one subscription a day leaves
no gap while a busy one asks once per BLOCK creates. The numbers a process holds are lost when
it stops (gaps). A number taken but not used (the command was refused, or was a repeat) is
given back to the same process, which never handed it to anyone else.
"""

from __future__ import annotations

import hashlib
import re
from collections import deque
from dataclasses import dataclass, field

import asyncpg

PREFIX = "SUB-"
BLOCK = 32
_IMPORTED = re.compile(r"^SUB-(\d{1,18})$")

CREATE_SEQUENCE = 'create sequence if not exists events."{name}" minvalue 1'
NEXT_MANY = """select nextval('events."{name}"') from generate_series(1, $1)"""
# setval only ever moves the sequence forward: an imported SUB-<n> must never be handed out again.
BUMP = """
select setval('events."{name}"', $1) from events."{name}" where last_value < $1
"""


def number_of(unique_id: str) -> int | None:
    """The n of an ID of the form SUB-<n>, else None."""
    match = _IMPORTED.match(unique_id)
    return int(match.group(1)) if match else None


def format_number(number: int) -> str:
    """SUB- followed by the number, zero-padded to six digits."""
    return f"{PREFIX}{number:06d}"


@dataclass
class _Held:
    """Numbers of one tenant this process took from the sequence and has not handed out."""

    numbers: deque[int] = field(default_factory=deque)
    block: int = 1


class UniqueIds:
    """Allocates unique IDs per tenant."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._known: set[str] = set()
        self._held: dict[str, _Held] = {}

    async def next(self, tenant_id: str) -> str:
        """A fresh unique ID for the tenant, from the numbers this process holds."""
        held = self._held.setdefault(tenant_id, _Held())
        if not held.numbers:
            name = await self._sequence(tenant_id)
            rows = await self._pool.fetch(NEXT_MANY.format(name=name), held.block)
            held.numbers.extend(sorted(row[0] for row in rows))
            held.block = min(held.block * 2, BLOCK)
        return format_number(held.numbers.popleft())

    def give_back(self, tenant_id: str, unique_id: str) -> None:
        """A unique ID from `next` that no event carries: the next create of the tenant takes it."""
        number = number_of(unique_id)
        held = self._held.get(tenant_id)
        if number is not None and held is not None:
            held.numbers.appendleft(number)

    async def next_many(self, tenant_id: str, count: int) -> list[str]:
        """`count` fresh unique IDs for the tenant in one round trip (an import batch's rows)."""
        if count <= 0:
            return []
        name = await self._sequence(tenant_id)
        numbers = await self._pool.fetch(NEXT_MANY.format(name=name), count)
        return [format_number(n) for n in sorted(row[0] for row in numbers)]

    async def move_past(self, tenant_id: str, unique_id: str) -> None:
        """Make sure the sequence never hands out an imported SUB-<n> again."""
        number = number_of(unique_id)
        if number is not None:
            name = await self._sequence(tenant_id)
            await self._pool.execute(BUMP.format(name=name), number)
            held = self._held.get(tenant_id)
            if held is not None:  # held numbers up to it may be imported ones now
                held.numbers = deque(n for n in held.numbers if n > number)

    async def _sequence(self, tenant_id: str) -> str:
        # Tenant ids are checked to [a-z0-9_-]; long ones are hashed to fit an identifier.
        name = f"unique_id_{tenant_id}"
        if len(name) > 60:
            name = "unique_id_" + hashlib.sha256(tenant_id.encode()).hexdigest()[:40]
        if tenant_id not in self._known:
            try:
                await self._pool.execute(CREATE_SEQUENCE.format(name=name))
            except asyncpg.UniqueViolationError:
                pass  # created concurrently by another process
            self._known.add(tenant_id)
        return name
