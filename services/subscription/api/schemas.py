"""What the API answers, as the OpenAPI document declares it: one model per response body.

The routes render their bodies themselves (the read queries' dicts, the commands' results); these
models say what those bodies hold, and tests/integration/test_openapi_conformance.py checks every
answer against them. Closed (`extra='forbid'`): a field a route adds must be declared here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.subscription import Status

ItemStatus = Literal["active", "disabled"]
Money = str  # a decimal string, "49.90"


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- command answers --------------------------------------------------------------------------


class Registered(Out):
    """A new directory entry."""

    id: UUID
    position: int = Field(description="pass as min_position to read your write")


class SubscriptionCreated(Out):
    id: UUID
    unique_id: str
    version: int
    position: int


class Changed(Out):
    """A command on an existing resource, or a new item of one (its id)."""

    id: UUID
    version: int = Field(description="the subscription's or entry's version (the ETag)")
    position: int


class Removed(Out):
    version: int
    position: int


class ImportQueued(Out):
    import_id: UUID


# --- directory --------------------------------------------------------------------------------


class Entry(Out):
    id: UUID
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime


class Party(Entry):
    """A contact or an organization."""

    name: str
    email: str | None
    phone: str | None
    address: str | None


class Engineer(Entry):
    name: str
    email: str | None


class ServiceContract(Entry):
    number: str
    title: str
    starts_on: date | None
    ends_on: date | None
    terms: str | None


class PartyPage(Out):
    items: list[Party]
    next_cursor: str | None


class EngineerPage(Out):
    items: list[Engineer]
    next_cursor: str | None


class ServiceContractPage(Out):
    items: list[ServiceContract]
    next_cursor: str | None


ENTRIES: dict[str, tuple[type[Out], type[Out]]] = {
    "contact": (Party, PartyPage),
    "organization": (Party, PartyPage),
    "engineer": (Engineer, EngineerPage),
    "service_contract": (ServiceContract, ServiceContractPage),
}


# --- subscriptions ----------------------------------------------------------------------------


class Ref(Out):
    id: UUID
    name: str | None


class ContractRef(Out):
    id: UUID
    number: str | None
    title: str | None


class SubscriptionItem(Out):
    id: UUID
    unique_id: str
    name: str
    status: Status
    description: str | None
    notification_level: str
    service_contract: ContractRef | None
    contact: Ref
    organization: Ref | None
    engineer: Ref
    version: int
    created_at: datetime
    updated_at: datetime


class SubscriptionPage(Out):
    items: list[SubscriptionItem]
    next_cursor: str | None


class Counts(Out):
    services: int
    hotspots: int
    devices: int


class Activity(Out):
    version: int
    type: str
    actor: str
    occurred_at: datetime
    summary: str


class Touchpoint(Out):
    id: UUID
    kind: Literal["call", "email", "visit", "support_request", "note"]
    note: str
    occurred_at: datetime
    actor: str


class ScheduledStatus(Out):
    """A status change staff scheduled; the scheduler carries it out at `at`."""

    id: UUID
    status: Status
    reason: str | None
    at: datetime
    scheduled_at: datetime


class ScheduledStatuses(Out):
    items: list[ScheduledStatus]


class Summary(SubscriptionItem):
    counts: Counts
    recent_activities: list[Activity]
    touchpoints: list[Touchpoint]
    scheduled_status_changes: list[ScheduledStatus]


class HistoryEntry(Out):
    event_id: UUID
    type: str
    version: int
    position: int
    actor: str
    occurred_at: datetime
    summary: str
    data: dict[str, Any]


class HistoryPage(Out):
    items: list[HistoryEntry]
    next_cursor: str | None


# --- the tabs ---------------------------------------------------------------------------------


class PendingPlanChange(Out):
    """A plan change scheduled for the service, applied when it falls due."""

    plan_id: UUID
    plan: str
    effective_at: datetime


class Service(Out):
    id: UUID
    plan: str
    download_max_mbps: int
    upload_max_mbps: int
    download_min_mbps: int | None
    upload_min_mbps: int | None
    qos_mode: str | None
    ipv4: list[str]
    ipv6: list[str]
    pppoe_username: str | None
    mac: str | None
    parent_node: str | None
    installation_address: str | None
    status: ItemStatus
    plan_id: UUID | None = Field(description="the catalogue plan; null: a custom plan")
    overrides: list[str] = Field(
        description="the rates and QoS mode set on the service; the others are its plan's"
    )
    pending_plan_change: PendingPlanChange | None
    created_at: datetime
    updated_at: datetime


class Hotspot(Out):
    id: UUID
    login: str
    profile: str | None
    time_limit_minutes: int | None
    data_limit_mb: int | None
    expires_at: datetime | None
    status: ItemStatus
    created_at: datetime
    updated_at: datetime


class Device(Out):
    id: UUID
    name: str
    type: str
    vendor: str | None
    model: str | None
    serial: str | None
    mac: str | None
    ip: str | None
    parent_node: str | None
    service_id: UUID | None
    created_at: datetime
    updated_at: datetime


class Services(Out):
    items: list[Service]


class Hotspots(Out):
    items: list[Hotspot]


class Devices(Out):
    items: list[Device]


TAB_LISTS: dict[str, type[Out]] = {"services": Services, "hotspots": Hotspots, "devices": Devices}


class Refund(Out):
    id: UUID
    amount: Money
    reason: str | None
    recorded_by: str
    recorded_at: datetime


class Payment(Out):
    id: UUID
    amount: Money
    currency: str
    method: str
    reference: str | None
    paid_at: datetime
    refunded: Money
    net: Money
    recorded_by: str
    recorded_at: datetime
    refunds: list[Refund]


class Payments(Out):
    items: list[Payment]


class Touchpoints(Out):
    items: list[Touchpoint]


class Billing(Out):
    plan: str
    price: Money
    currency: str
    cycle: Literal["monthly", "quarterly", "semiannual", "annual"]
    billing_day: int
    payment_method: str | None
    billing_address: str | None
    updated_at: datetime


class ServiceInformation(Out):
    id: UUID
    plan: str
    download_max_mbps: int
    upload_max_mbps: int
    ipv4: list[str]
    ipv6: list[str]
    pppoe_username: str | None
    parent_node: str | None
    status: ItemStatus


class Hardware(Out):
    id: UUID
    name: str
    type: str
    vendor: str | None
    model: str | None
    serial: str | None
    mac: str | None


class InvoiceLine(Out):
    description: str
    amount: Money


class Invoice(Out):
    """An invoice for one billing period (`period_end` its last day), due on `due_on`."""

    id: UUID
    number: str
    period_start: date
    period_end: date
    issued_at: datetime
    due_on: date
    currency: str
    total: Money
    lines: list[InvoiceLine]


class TenantInvoice(Invoice):
    subscription_id: UUID
    unique_id: str


class InvoicePage(Out):
    items: list[TenantInvoice]
    next_cursor: str | None


class AccountLine(Out):
    """A movement of money: positive what the customer owes more (invoice, charge, refund),
    negative what they paid or are credited (payment, credit)."""

    kind: Literal["invoice", "charge", "credit", "payment", "refund"]
    occurred_at: datetime
    description: str
    amount: Money
    currency: str


class AccountBilling(Out):
    plan: str
    price: Money
    currency: str
    cycle: Literal["monthly", "quarterly", "semiannual", "annual"]
    billing_day: int


class Account(Out):
    """A subscription's account: what it owes in its billing currency (negative: in credit),
    the due date of the oldest invoice still open, and whether it is suspended as overdue."""

    subscription_id: UUID
    currency: str | None
    balance: Money
    due_on: date | None
    overdue: bool
    billing: AccountBilling | None
    invoices: list[Invoice]
    lines: list[AccountLine]
    scheduled_status_changes: list[ScheduledStatus]


class TenantSettings(Out):
    grace_days: int = Field(description="days after an invoice's due date before it suspends")
    updated_by: str | None
    updated_at: datetime | None


class Details(Out):
    billing: Billing | None
    service_information: list[ServiceInformation]
    hardware: list[Hardware]
    payments: list[Payment]
    account: Account | None


# --- plans -------------------------------------------------------------------------------------


class Plan(Out):
    id: UUID
    name: str
    download_max_mbps: int
    upload_max_mbps: int
    download_min_mbps: int | None
    upload_min_mbps: int | None
    qos_mode: str | None
    price: Money
    currency: str
    cycle: Literal["monthly", "quarterly", "semiannual", "annual"]
    data_cap_gb: int | None
    retired: bool
    retired_reason: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class PlanPage(Out):
    items: list[Plan]
    next_cursor: str | None


# --- LibreQoS ---------------------------------------------------------------------------------


class ShapedDevice(Out):
    """One row of LibreQoS's ShapedDevices.csv, by its column names."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    circuit_id: str = Field(alias="Circuit ID")
    circuit_name: str = Field(alias="Circuit Name")
    device_id: str = Field(alias="Device ID")
    device_name: str = Field(alias="Device Name")
    parent_node: str = Field(alias="Parent Node")
    mac: str = Field(alias="MAC")
    ipv4: str = Field(alias="IPv4")
    ipv6: str = Field(alias="IPv6")
    download_min_mbps: int = Field(alias="Download Min Mbps")
    upload_min_mbps: int = Field(alias="Upload Min Mbps")
    download_max_mbps: int = Field(alias="Download Max Mbps")
    upload_max_mbps: int = Field(alias="Upload Max Mbps")
    comment: str = Field(alias="Comment")
