"""Events of a subscription's inner page: services, hotspot accounts, devices, billing,
payments and touchpoints. They belong to the subscription's stream."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from contracts.base import Event

ServiceStatus = Literal["active", "disabled"]
HotspotStatus = Literal["active", "disabled"]
BillingCycle = Literal["monthly", "quarterly", "semiannual", "annual"]
TouchpointKind = Literal["call", "email", "visit", "support_request", "note"]


class ServiceFields(Event):
    """What a service is: plan, speeds, addresses, PPPoE login, where it hangs off the network.

    A service on a catalogue plan has `plan_id`; its rates and QoS mode are the plan's as of the
    event, except the fields named in `overrides`, which are the service's own. One without
    `plan_id` (every service before the catalogue) has a custom plan: `plan` is free text and
    every rate its own.
    """

    plan: str
    download_max_mbps: int
    upload_max_mbps: int
    download_min_mbps: int | None = None
    upload_min_mbps: int | None = None
    qos_mode: str | None = None
    ipv4: list[str] = []
    ipv6: list[str] = []
    pppoe_username: str | None = None
    mac: str | None = None
    parent_node: str | None = None
    installation_address: str | None = None
    status: ServiceStatus = "active"
    plan_id: UUID | None = None
    overrides: list[str] = []


class ServiceAdded(ServiceFields):
    type: Literal["subscription.service_added"] = "subscription.service_added"
    service_id: UUID


class ServiceUpdated(ServiceFields):
    """The service as it now is; `changed` names the fields that differ from before."""

    type: Literal["subscription.service_updated"] = "subscription.service_updated"
    service_id: UUID
    changed: list[str]


class ServiceStatusChanged(Event):
    """A service enabled or disabled (shapers and RADIUS act on this)."""

    type: Literal["subscription.service_status_changed"] = "subscription.service_status_changed"
    service_id: UUID
    from_status: ServiceStatus
    to_status: ServiceStatus


class ServiceRemoved(Event):
    type: Literal["subscription.service_removed"] = "subscription.service_removed"
    service_id: UUID


class Proration(Event):
    """What an immediate plan change credits and charges for the rest of the billing period.

    Days are whole UTC days; the day of the change counts to the new plan. `credit` is the old
    price for the days left, `charge` the new price for them, each rounded half-up to the
    currency's minor unit; `net` = charge - credit (negative: the customer is owed).
    """

    currency: str
    cycle: BillingCycle
    period_start: date
    period_end: date  # the last day of the period
    days_in_period: int
    days_left: int
    old_price: Decimal
    new_price: Decimal
    credit: Decimal
    charge: Decimal
    net: Decimal


class ServicePlanChanged(Event):
    """A service moved to another catalogue plan (an upgrade or a downgrade), with its rates
    after the change, the overrides it kept and, between two priced plans, the proration."""

    type: Literal["subscription.service_plan_changed"] = "subscription.service_plan_changed"
    service_id: UUID
    from_plan_id: UUID | None
    from_plan: str
    to_plan_id: UUID
    plan: str
    download_max_mbps: int
    upload_max_mbps: int
    download_min_mbps: int | None = None
    upload_min_mbps: int | None = None
    qos_mode: str | None = None
    overrides: list[str] = []
    effective_at: datetime
    proration: Proration | None = None


class ServicePlanChangeScheduled(Event):
    """A plan change to take effect at `effective_at` (the next billing period's start, or a
    chosen moment); it replaces any change pending for the service. When it is due, a
    `subscription.service_plan_changed` carries it out."""

    type: Literal["subscription.service_plan_change_scheduled"] = (
        "subscription.service_plan_change_scheduled"
    )
    service_id: UUID
    to_plan_id: UUID
    plan: str
    effective_at: datetime


class ServicePlanChangeCancelled(Event):
    type: Literal["subscription.service_plan_change_cancelled"] = (
        "subscription.service_plan_change_cancelled"
    )
    service_id: UUID
    to_plan_id: UUID


class HotspotFields(Event):
    login: str
    profile: str | None = None
    time_limit_minutes: int | None = None
    data_limit_mb: int | None = None
    expires_at: datetime | None = None
    status: HotspotStatus = "active"


class HotspotAdded(HotspotFields):
    type: Literal["subscription.hotspot_added"] = "subscription.hotspot_added"
    hotspot_id: UUID


class HotspotUpdated(HotspotFields):
    type: Literal["subscription.hotspot_updated"] = "subscription.hotspot_updated"
    hotspot_id: UUID
    changed: list[str]


class HotspotRemoved(Event):
    type: Literal["subscription.hotspot_removed"] = "subscription.hotspot_removed"
    hotspot_id: UUID


class DeviceFields(Event):
    """A device; its kind (CPE, router, ONU, AP …) is `device_type`, as `type` names the event."""

    name: str
    device_type: str
    vendor: str | None = None
    model: str | None = None
    serial: str | None = None
    mac: str | None = None
    ip: str | None = None
    parent_node: str | None = None
    service_id: UUID | None = None


class DeviceLinked(DeviceFields):
    type: Literal["subscription.device_linked"] = "subscription.device_linked"
    device_id: UUID


class DeviceUpdated(DeviceFields):
    type: Literal["subscription.device_updated"] = "subscription.device_updated"
    device_id: UUID
    changed: list[str]


class DeviceUnlinked(Event):
    type: Literal["subscription.device_unlinked"] = "subscription.device_unlinked"
    device_id: UUID


class BillingSet(Event):
    """Billing details replaced as a whole (PUT)."""

    type: Literal["subscription.billing_set"] = "subscription.billing_set"
    plan: str
    price: Decimal
    currency: str
    cycle: BillingCycle
    billing_day: int
    payment_method: str | None = None
    billing_address: str | None = None


class PaymentRecorded(Event):
    type: Literal["subscription.payment_recorded"] = "subscription.payment_recorded"
    payment_id: UUID
    amount: Decimal
    currency: str
    method: str
    reference: str | None = None
    paid_at: datetime


class PaymentRefunded(Event):
    """A refund or void recorded against a payment; the payment itself is never deleted."""

    type: Literal["subscription.payment_refunded"] = "subscription.payment_refunded"
    payment_id: UUID
    refund_id: UUID
    amount: Decimal
    reason: str | None = None


class TouchpointLogged(Event):
    """An interaction staff had with the customer: call, email, visit, support request, note."""

    type: Literal["subscription.touchpoint_logged"] = "subscription.touchpoint_logged"
    touchpoint_id: UUID
    kind: TouchpointKind
    note: str
    occurred_at: datetime


InnerEvent = (
    ServiceAdded
    | ServiceUpdated
    | ServiceStatusChanged
    | ServiceRemoved
    | ServicePlanChanged
    | ServicePlanChangeScheduled
    | ServicePlanChangeCancelled
    | HotspotAdded
    | HotspotUpdated
    | HotspotRemoved
    | DeviceLinked
    | DeviceUpdated
    | DeviceUnlinked
    | BillingSet
    | PaymentRecorded
    | PaymentRefunded
    | TouchpointLogged
)
