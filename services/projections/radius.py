"""Projection `radius`: FreeRADIUS's rlm_sql tables (schema radius) from the subscriptions.

Each PPPoE login (a service's `pppoe_username`) and hotspot account is folded into
radius.accounts, as the events and their order leave it (a service on a plan follows the plan's
rates but for its overrides, as the Services tab does). After each batch the rlm_sql rows of
every subscription the batch touched are written again from those accounts: only an account
that may log in has rows (see `may_log_in`), so a Cancelled or Completed subscription, an
Inactive one, or a disabled service or account is refused by FreeRADIUS. Rows carry their
tenant; FreeRADIUS's queries select by the tenant of the NAS asking.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from typing import Any
from uuid import UUID

import asyncpg

from contracts import inner as ev
from contracts import plans as pev
from contracts import subscription as sev
from plumbing.eventlog import StoredEvent

from .projection import Projection, keys_arrays
from .replies import Account, group_of, may_log_in, replies

RATES = ("download_max_mbps", "upload_max_mbps", "download_min_mbps", "upload_min_mbps")
SERVICE = ("username", "status", *RATES, "ipv4", "ipv6", "plan_id", "overrides")
HOTSPOT = ("username", "status", "profile", "time_limit_minutes", "data_limit_mb")


def _upsert(kind: str, columns: tuple[str, ...]) -> str:
    """$1 tenant, $2 subscription, $3 item, then the columns."""
    values = ", ".join(f"${i}" for i in range(4, 4 + len(columns)))
    return f"""
insert into {{accounts}} (tenant_id, subscription_id, item_id, kind, {", ".join(columns)},
                          subscription_status)
values ($1, $2, $3, '{kind}', {values}, coalesce(
    (select status from {{statuses}} where tenant_id = $1 and id = $2), 'Active'))
on conflict (tenant_id, item_id) do update set
    {", ".join(f"{c} = excluded.{c}" for c in columns)}
"""


UPSERT_SERVICE = _upsert("service", SERVICE)
UPSERT_HOTSPOT = _upsert("hotspot", HOTSPOT)
STATUS = """
insert into {statuses} (tenant_id, id, status) values ($1, $2, $3)
on conflict (tenant_id, id) do update set status = excluded.status
"""
FOLLOW_STATUS = (
    "update {accounts} set subscription_status = $3 where tenant_id = $1 and subscription_id = $2"
)
ITEM_STATUS = "update {accounts} set status = $3 where tenant_id = $1 and item_id = $2"
REMOVE = "delete from {accounts} where tenant_id = $1 and item_id = $2"
PLAN = f"""
insert into {{plans}} (tenant_id, id, {", ".join(RATES)}) values ($1, $2, $3, $4, $5, $6)
on conflict (tenant_id, id) do update set {", ".join(f"{c} = excluded.{c}" for c in RATES)}
"""
PLAN_CHANGED = f"""
update {{accounts}} set plan_id = $3, {", ".join(f"{c} = ${i}" for i, c in enumerate(RATES, 4))},
    overrides = $8
where tenant_id = $1 and item_id = $2
"""
# A service on a plan takes the plan's rates, as this projection last saw the plan, but for its
# overrides: after each of its own events, and after each edit of the plan.
_FOLLOW = f"""
update {{accounts}} a set {
    ", ".join(f"{c} = case when '{c}' = any(a.overrides) then a.{c} else p.{c} end" for c in RATES)
}
from {{plans}} p
where p.tenant_id = a.tenant_id and p.id = a.plan_id and a.tenant_id = $1 and a.%s = $2
"""
FOLLOW_SERVICE = _FOLLOW % "item_id"
FOLLOW_PLAN = _FOLLOW % "plan_id"

ON_PLANS = """
select distinct tenant_id, subscription_id from {accounts}
where (tenant_id, plan_id) in (select * from unnest($1::text[], $2::uuid[]))
"""
ACCOUNTS_OF = """
select * from {accounts}
where (tenant_id, subscription_id) in (select * from unnest($1::text[], $2::uuid[]))
"""
CLEAR = """
delete from {%s}
where (tenant_id, subscription_id) in (select * from unnest($1::text[], $2::uuid[]))
"""
INSERT_REPLY = """
insert into {radreply} (tenant_id, item_id, subscription_id, username, attribute, op, value)
select * from unnest($1::text[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[],
                     $7::text[])
"""
INSERT_GROUP = """
insert into {radusergroup} (tenant_id, item_id, subscription_id, username, groupname, priority)
select * from unnest($1::text[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::int[])
"""

_TYPES = (
    sev.SubscriptionCreated,
    sev.SubscriptionStatusChanged,
    sev.SubscriptionReopened,
    ev.ServiceAdded,
    ev.ServiceUpdated,
    ev.ServiceStatusChanged,
    ev.ServiceRemoved,
    ev.ServicePlanChanged,
    ev.HotspotAdded,
    ev.HotspotUpdated,
    ev.HotspotRemoved,
    pev.PlanCreated,
    pev.PlanEdited,
)

Statement = tuple[str, tuple[Any, ...]]


class RadiusProjection(Projection):
    name = "radius"
    schema = "radius"
    tables = (
        "accounts", "statuses", "plans", "radcheck", "radreply", "radusergroup", "radgroupcheck",
        "radgroupreply",
    )  # fmt: skip
    handles = frozenset(m.model_fields["type"].default for m in _TYPES)

    async def apply(self, conn: asyncpg.Connection, events: Sequence[StoredEvent]) -> None:
        """Fold the batch into the accounts, then write the touched subscriptions' rows again."""
        statements = [st for event in events for st in _statements(event)]
        for sql, run in groupby(statements, key=lambda st: st[0]):
            await conn.executemany(self.sql(sql), [args for _, args in run])
        touched = {(e.tenant_id, e.stream_id) for e in events if e.stream_type == "subscription"}
        plans = {(e.tenant_id, e.stream_id) for e in events if e.type == "plan.edited"}
        if plans:
            rows = await conn.fetch(self.sql(ON_PLANS), *keys_arrays(plans))
            touched |= {(row["tenant_id"], row["subscription_id"]) for row in rows}
        if touched:
            await self._rewrite(conn, touched)

    async def _rewrite(self, conn: asyncpg.Connection, touched: set[tuple[str, UUID]]) -> None:
        keys = keys_arrays(touched)
        for table in ("radcheck", "radreply", "radusergroup"):
            await conn.execute(self.sql(CLEAR % table), *keys)
        accounts = [Account.of(row) for row in await conn.fetch(self.sql(ACCOUNTS_OF), *keys)]
        allowed = sorted((a for a in accounts if may_log_in(a)), key=lambda a: a.item_id)
        reply = [(a, attribute, value) for a in allowed for attribute, value in replies(a)]
        if reply:
            await conn.execute(
                self.sql(INSERT_REPLY),
                [a.tenant_id for a, _, _ in reply],
                [a.item_id for a, _, _ in reply],
                [a.subscription_id for a, _, _ in reply],
                [a.username for a, _, _ in reply],
                [attribute for _, attribute, _ in reply],
                [":=" for _ in reply],
                [value for _, _, value in reply],
            )
        if allowed:
            await conn.execute(
                self.sql(INSERT_GROUP),
                [a.tenant_id for a in allowed],
                [a.item_id for a in allowed],
                [a.subscription_id for a in allowed],
                [a.username for a in allowed],
                [group_of(a) for a in allowed],
                [1 for _ in allowed],
            )


def _statements(event: StoredEvent) -> list[Statement]:
    p = event.payload()
    t, sub = event.tenant_id, event.stream_id
    match p:
        case sev.SubscriptionCreated():
            return [(STATUS, (t, sub, p.status.value))]
        case sev.SubscriptionStatusChanged() | sev.SubscriptionReopened():
            status = p.to_status.value
            return [(STATUS, (t, sub, status)), (FOLLOW_STATUS, (t, sub, status))]
        case ev.ServiceAdded() | ev.ServiceUpdated():
            values = (p.pppoe_username, p.status, *(getattr(p, c) for c in RATES))
            more = (p.ipv4, p.ipv6, p.plan_id, p.overrides)
            upsert = (UPSERT_SERVICE, (t, sub, p.service_id, *values, *more))
            if p.plan_id is None:
                return [upsert]
            return [upsert, (FOLLOW_SERVICE, (t, p.service_id))]
        case ev.ServicePlanChanged():
            rates = tuple(getattr(p, c) for c in RATES)
            return [
                (PLAN_CHANGED, (t, p.service_id, p.to_plan_id, *rates, p.overrides)),
                (FOLLOW_SERVICE, (t, p.service_id)),
            ]
        case ev.ServiceStatusChanged():
            return [(ITEM_STATUS, (t, p.service_id, p.to_status))]
        case ev.ServiceRemoved():
            return [(REMOVE, (t, p.service_id))]
        case ev.HotspotAdded() | ev.HotspotUpdated():
            values = (p.login, p.status, p.profile, p.time_limit_minutes, p.data_limit_mb)
            return [(UPSERT_HOTSPOT, (t, sub, p.hotspot_id, *values))]
        case ev.HotspotRemoved():
            return [(REMOVE, (t, p.hotspot_id))]
        case pev.PlanCreated():
            return [(PLAN, (t, event.stream_id, *(getattr(p, c) for c in RATES)))]
        case pev.PlanEdited():
            return [
                (PLAN, (t, event.stream_id, *(getattr(p, c) for c in RATES))),
                (FOLLOW_PLAN, (t, event.stream_id)),
            ]
        case _:
            return []
