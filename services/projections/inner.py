"""Projection `inner`: the Services, Hotspot, Devices and Details tabs, payments, touchpoints.

Each event changes few rows, so each is applied with its own statement, in the batch's
transaction and order; what the rows hold depends only on the events and their order.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from typing import Any

import asyncpg

from contracts import inner as ev
from contracts import plans as pev
from contracts import subscription as sev
from plumbing.eventlog import StoredEvent

from .projection import Projection

SERVICE_COLUMNS = (
    "plan", "download_max_mbps", "upload_max_mbps", "download_min_mbps", "upload_min_mbps",
    "qos_mode", "ipv4", "ipv6", "pppoe_username", "mac", "parent_node", "installation_address",
    "status", "plan_id", "overrides",
)  # fmt: skip
SHAPING = (
    "download_max_mbps",
    "upload_max_mbps",
    "download_min_mbps",
    "upload_min_mbps",
    "qos_mode",
)
PLAN_COLUMNS = ("name", *SHAPING)
HOTSPOT_COLUMNS = (
    "login",
    "profile",
    "time_limit_minutes",
    "data_limit_mb",
    "expires_at",
    "status",
)
DEVICE_COLUMNS = (
    "name",
    "type",
    "vendor",
    "model",
    "serial",
    "mac",
    "ip",
    "parent_node",
    "service_id",
)


def _upsert(table: str, columns: tuple[str, ...], extra: dict[str, str] | None = None) -> str:
    """Insert or update an item row: $1 tenant, $2 subscription, $3 id, then the columns, then
    the time; `extra` adds columns computed in SQL."""
    extra = extra or {}
    names = ", ".join((*columns, *extra))
    at = f"${4 + len(columns)}"
    values = ", ".join((*(f"${i}" for i in range(4, 4 + len(columns))), *extra.values()))
    updates = ", ".join(f"{c} = excluded.{c}" for c in (*columns, *extra))
    return (
        f"insert into {{{table}}} (tenant_id, subscription_id, id, {names}, created_at, updated_at)"
        f" values ($1, $2, $3, {values}, {at}, {at})"
        f" on conflict (tenant_id, id) do update set {updates}, updated_at = excluded.updated_at"
    )


STATUS = """
insert into {subscription_statuses} (tenant_id, id, status) values ($1, $2, $3)
on conflict (tenant_id, id) do update set status = excluded.status
"""
SERVICES_FOLLOW_STATUS = """
update {services} set subscription_status = $3 where tenant_id = $1 and subscription_id = $2
"""
SERVICE = _upsert(
    "services",
    SERVICE_COLUMNS,
    {
        "subscription_status": "coalesce((select status from {subscription_statuses}"
        " where tenant_id = $1 and id = $2), 'Active')"
    },
)
SERVICE_STATUS = (
    "update {services} set status = $3, updated_at = $4 where tenant_id = $1 and id = $2"
)
# A service on a plan follows the plan's name and rates as this projection last saw the plan,
# but for its overrides: after each of its own events, and after each edit of the plan.
_FOLLOW = f"""
update {{services}} s set plan = p.name, {
    ", ".join(
        f"{c} = case when '{c}' = any(s.overrides) then s.{c} else p.{c} end" for c in SHAPING
    )
}
from {{service_plans}} p
where p.tenant_id = s.tenant_id and p.id = s.plan_id and s.tenant_id = $1 and s.%s = $2
"""
FOLLOW_SERVICE = _FOLLOW % "id"
FOLLOW_PLAN = _FOLLOW % "plan_id"
PLAN_CHANGED = f"""
update {{services}} set plan_id = $3, plan = $4, {
    ", ".join(f"{c} = ${i}" for i, c in enumerate(SHAPING, start=5))
}, overrides = ${5 + len(SHAPING)}, updated_at = ${6 + len(SHAPING)},
    pending_plan_id = null, pending_plan = null, pending_effective_at = null
where tenant_id = $1 and id = $2
"""
PENDING = """
update {services} set pending_plan_id = $3, pending_plan = $4, pending_effective_at = $5
where tenant_id = $1 and id = $2
"""
SERVICE_PLAN = f"""
insert into {{service_plans}} (tenant_id, id, {", ".join(PLAN_COLUMNS)})
values ($1, $2, {", ".join(f"${i}" for i in range(3, 3 + len(PLAN_COLUMNS)))})
on conflict (tenant_id, id) do update set {", ".join(f"{c} = excluded.{c}" for c in PLAN_COLUMNS)}
"""
HOTSPOT = _upsert("hotspots", HOTSPOT_COLUMNS)
DEVICE = _upsert("devices", DEVICE_COLUMNS)
REMOVE = "delete from {%s} where tenant_id = $1 and id = $2"
BILLING = """
insert into {billing} (tenant_id, subscription_id, plan, price, currency, cycle, billing_day,
                       payment_method, billing_address, updated_at)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
on conflict (tenant_id, subscription_id) do update set
    plan = excluded.plan, price = excluded.price, currency = excluded.currency,
    cycle = excluded.cycle, billing_day = excluded.billing_day,
    payment_method = excluded.payment_method, billing_address = excluded.billing_address,
    updated_at = excluded.updated_at
"""
PAYMENT = """
insert into {payments} (tenant_id, subscription_id, id, amount, currency, method, reference,
                        paid_at, recorded_by, recorded_at)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
"""
REFUND = """
insert into {refunds} (tenant_id, subscription_id, payment_id, id, amount, reason, recorded_by,
                       recorded_at)
values ($1, $2, $3, $4, $5, $6, $7, $8)
"""
REFUNDED = "update {payments} set refunded = refunded + $3 where tenant_id = $1 and id = $2"
TOUCHPOINT = """
insert into {touchpoints} (tenant_id, subscription_id, id, kind, note, occurred_at, actor)
values ($1, $2, $3, $4, $5, $6, $7)
"""

_TYPES = (
    sev.SubscriptionCreated,
    sev.SubscriptionStatusChanged,
    sev.SubscriptionReopened,
    *ev.InnerEvent.__args__,
    pev.PlanCreated,
    pev.PlanEdited,
)


class InnerProjection(Projection):
    name = "inner"
    tables = (
        "subscription_statuses", "services", "hotspots", "devices", "billing", "payments",
        "refunds", "touchpoints", "service_plans",
    )  # fmt: skip
    handles = frozenset(m.model_fields["type"].default for m in _TYPES)

    async def apply(self, conn: asyncpg.Connection, events: Sequence[StoredEvent]) -> None:
        """Apply the batch's statements in order; runs of one statement go as one executemany."""
        statements = [st for event in events for st in self._statements(event)]
        for sql, run in groupby(statements, key=lambda st: st[0]):
            await conn.executemany(self.sql(sql), [args for _, args in run])

    def _statements(self, event: StoredEvent) -> list[tuple[str, tuple[Any, ...]]]:
        p = event.payload()
        t, sub, at = event.tenant_id, event.stream_id, event.occurred_at
        match p:
            case sev.SubscriptionCreated():
                return [(STATUS, (t, sub, p.status.value))]
            case sev.SubscriptionStatusChanged() | sev.SubscriptionReopened():
                status = p.to_status.value
                return [(STATUS, (t, sub, status)), (SERVICES_FOLLOW_STATUS, (t, sub, status))]
            case ev.ServiceAdded() | ev.ServiceUpdated():
                upsert = (SERVICE, (t, sub, p.service_id, *_values(p, SERVICE_COLUMNS), at))
                if p.plan_id is None:
                    return [upsert]
                return [upsert, (FOLLOW_SERVICE, (t, p.service_id))]
            case ev.ServicePlanChanged():
                moved = (t, p.service_id, p.to_plan_id, p.plan, *_values(p, SHAPING))
                return [
                    (PLAN_CHANGED, (*moved, p.overrides, at)),
                    (FOLLOW_SERVICE, (t, p.service_id)),
                ]
            case ev.ServicePlanChangeScheduled():
                return [(PENDING, (t, p.service_id, p.to_plan_id, p.plan, p.effective_at))]
            case ev.ServicePlanChangeCancelled():
                return [(PENDING, (t, p.service_id, None, None, None))]
            case pev.PlanCreated():
                return [(SERVICE_PLAN, (t, event.stream_id, *_values(p, PLAN_COLUMNS)))]
            case pev.PlanEdited():
                return [
                    (SERVICE_PLAN, (t, event.stream_id, *_values(p, PLAN_COLUMNS))),
                    (FOLLOW_PLAN, (t, event.stream_id)),
                ]
            case ev.ServiceStatusChanged():
                return [(SERVICE_STATUS, (t, p.service_id, p.to_status, at))]
            case ev.ServiceRemoved():
                return [(REMOVE % "services", (t, p.service_id))]
            case ev.HotspotAdded() | ev.HotspotUpdated():
                return [(HOTSPOT, (t, sub, p.hotspot_id, *_values(p, HOTSPOT_COLUMNS), at))]
            case ev.HotspotRemoved():
                return [(REMOVE % "hotspots", (t, p.hotspot_id))]
            case ev.DeviceLinked() | ev.DeviceUpdated():
                values = _values(p, DEVICE_COLUMNS, {"type": "device_type"})
                return [(DEVICE, (t, sub, p.device_id, *values, at))]
            case ev.DeviceUnlinked():
                return [(REMOVE % "devices", (t, p.device_id))]
            case ev.BillingSet():
                return [
                    (
                        BILLING,
                        (t, sub, p.plan, p.price, p.currency, p.cycle, p.billing_day,
                         p.payment_method, p.billing_address, at),
                    )
                ]  # fmt: skip
            case ev.PaymentRecorded():
                return [
                    (
                        PAYMENT,
                        (t, sub, p.payment_id, p.amount, p.currency, p.method, p.reference,
                         p.paid_at, event.actor, at),
                    )
                ]  # fmt: skip
            case ev.PaymentRefunded():
                return [
                    (
                        REFUND,
                        (t, sub, p.payment_id, p.refund_id, p.amount, p.reason, event.actor, at),
                    ),
                    (REFUNDED, (t, p.payment_id, p.amount)),
                ]
            case ev.TouchpointLogged():
                return [
                    (
                        TOUCHPOINT,
                        (t, sub, p.touchpoint_id, p.kind, p.note, p.occurred_at, event.actor),
                    )
                ]
            case _:
                return []


def _values(
    payload: Any, columns: tuple[str, ...], renamed: dict[str, str] | None = None
) -> list[Any]:
    renamed = renamed or {}
    return [getattr(payload, renamed.get(c, c)) for c in columns]
