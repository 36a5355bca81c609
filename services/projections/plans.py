"""Projection `plans`: the tenant's plan catalogue (read.plans)."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from typing import Any

import asyncpg

from contracts import plans as ev
from plumbing.eventlog import StoredEvent

from .projection import Projection

FIELDS = (
    "name", "download_max_mbps", "upload_max_mbps", "download_min_mbps", "upload_min_mbps",
    "qos_mode", "price", "currency", "cycle", "data_cap_gb",
)  # fmt: skip
_NUMBERED = ", ".join(f"${i}" for i in range(3, 3 + len(FIELDS)))
_AT = f"${3 + len(FIELDS)}"
_VERSION = f"${4 + len(FIELDS)}"

# $1 tenant, $2 plan, the fields, the moment, the version.
CREATED = f"""
insert into {{plans}} (tenant_id, id, {", ".join(FIELDS)}, version, created_at, updated_at)
values ($1, $2, {_NUMBERED}, {_VERSION}, {_AT}, {_AT})
on conflict (tenant_id, id) do update set
    {", ".join(f"{f} = excluded.{f}" for f in FIELDS)},
    retired = false, retired_reason = null, version = excluded.version,
    created_at = excluded.created_at, updated_at = excluded.updated_at
"""
EDITED = f"""
update {{plans}} set ({", ".join(FIELDS)}, version, updated_at) = ({_NUMBERED}, {_VERSION}, {_AT})
where tenant_id = $1 and id = $2
"""
RETIRED = """
update {plans} set retired = true, retired_reason = $3, updated_at = $4, version = $5
where tenant_id = $1 and id = $2
"""

TYPES = frozenset(m.model_fields["type"].default for m in ev.PlanEvent.__args__)


class PlansProjection(Projection):
    name = "plans"
    tables = ("plans",)
    handles = TYPES

    async def apply(self, conn: asyncpg.Connection, events: Sequence[StoredEvent]) -> None:
        """Apply the batch's statements in order; runs of one statement go as one executemany."""
        statements = [_statement(event) for event in events]
        for sql, run in groupby(statements, key=lambda st: st[0]):
            await conn.executemany(self.sql(sql), [args for _, args in run])


def _statement(event: StoredEvent) -> tuple[str, tuple[Any, ...]]:
    p = event.payload()
    t, plan, at, version = event.tenant_id, event.stream_id, event.occurred_at, event.version
    match p:
        case ev.PlanCreated():
            return CREATED, (t, plan, *(getattr(p, f) for f in FIELDS), at, version)
        case ev.PlanEdited():
            return EDITED, (t, plan, *(getattr(p, f) for f in FIELDS), at, version)
        case ev.PlanRetired():
            return RETIRED, (t, plan, p.reason, at, version)
        case _:
            raise ValueError(f"projection plans cannot apply {event.type}")
