"""Input of the use cases, as the API's JSON bodies and the pages' forms give it: strict (unknown
fields are refused) and bounded.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal, Optional
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model

from contracts.subscription import Status

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=50)]
Text = Annotated[str, StringConstraints(max_length=500)]
LongText = Annotated[str, StringConstraints(max_length=5000)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def given(self) -> dict[str, Any]:
        """The fields the client sent, as JSON values (for partial updates)."""
        return self.model_dump(mode="json", include=self.model_fields_set)


def partial(model: type[Body], name: str) -> type[Body]:
    """A PATCH body: the model's fields, each optional; only the fields sent are changed."""
    fields: dict[str, Any] = {}
    for field_name, info in model.model_fields.items():
        kind: Any = (
            Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        )
        fields[field_name] = (Optional[kind], None)  # noqa: UP045
    patch: type[Body] = create_model(name, __base__=Body, **fields)
    return patch


class PartyIn(Body):
    """A contact or an organization."""

    name: Name
    email: Email | None = None
    phone: Phone | None = None
    address: Text | None = None


class EngineerIn(Body):
    name: Name
    email: Email | None = None


class ServiceContractIn(Body):
    number: Name
    title: Name
    starts_on: date | None = None
    ends_on: date | None = None
    terms: LongText | None = None


class DeactivateIn(Body):
    reason: Text | None = None


class ReactivateIn(Body):
    reason: Text | None = None


class SubscriptionIn(Body):
    contact_id: UUID
    organization_id: UUID | None = None
    name: Name
    status: Status
    engineer_id: UUID
    service_contract_id: UUID | None = None
    description: LongText | None = None


class SubscriptionPatch(Body):
    name: Name | None = None
    description: LongText | None = None
    contact_id: UUID | None = None
    organization_id: UUID | None = None
    service_contract_id: UUID | None = None


class StatusIn(Body):
    status: Status
    reason: Text | None = None


class ScheduledStatusIn(Body):
    """A status change for a moment to come (a date-time with its zone)."""

    status: Status
    reason: Text | None = None
    at: datetime


class SettingsIn(Body):
    """The tenant's settings: days after an invoice's due date before it suspends."""

    grace_days: Annotated[int, Field(ge=0, le=365)]


class ReopenIn(Body):
    """A closed subscription back to Inactive: why (required)."""

    reason: Text


class EngineerAssignmentIn(Body):
    engineer_id: UUID


# --- inner page -------------------------------------------------------------------------------
# Types and bounds only: the decider checks addresses, MACs, rates and money with the same
# messages for every entry point. Money is a decimal string ("49.90"); a float is refused there.
Money = str | int | float
Short = Annotated[str, StringConstraints(max_length=200)]


class ServiceIn(Body):
    """A service on a catalogue plan (`plan_id`: its rates and QoS mode are the plan's unless
    given here) or on a custom plan (`plan` and both maximum rates required)."""

    plan_id: UUID | None = None
    plan: Short | None = None
    download_max_mbps: int | None = None
    upload_max_mbps: int | None = None
    download_min_mbps: int | None = None
    upload_min_mbps: int | None = None
    qos_mode: Short | None = None
    ipv4: list[Short] = []
    ipv6: list[Short] = []
    pppoe_username: Short | None = None
    mac: Short | None = None
    parent_node: Short | None = None
    installation_address: Text | None = None
    status: Literal["active", "disabled"] = "active"


class PlanIn(Body):
    """A plan of the catalogue; `price` a decimal string per `cycle`, in `currency`."""

    name: Short
    download_max_mbps: int
    upload_max_mbps: int
    download_min_mbps: int | None = None
    upload_min_mbps: int | None = None
    qos_mode: Short | None = None
    price: Money
    currency: Short
    cycle: Literal["monthly", "quarterly", "semiannual", "annual"]
    data_cap_gb: int | None = None


class RetireIn(Body):
    reason: Text | None = None


class PlanChangeIn(Body):
    """A service moved to another plan: `now` (the default, prorated by days), `next_cycle`
    (the next billing period's first day) or a moment to come (a date-time with its zone)."""

    plan_id: UUID
    effective: Annotated[str, StringConstraints(max_length=64)] = "now"


class HotspotIn(Body):
    login: Short
    profile: Short | None = None
    time_limit_minutes: int | None = None
    data_limit_mb: int | None = None
    expires_at: datetime | None = None
    status: Literal["active", "disabled"] = "active"


class DeviceIn(Body):
    name: Short
    type: Short
    vendor: Short | None = None
    model: Short | None = None
    serial: Short | None = None
    mac: Short | None = None
    ip: Short | None = None
    parent_node: Short | None = None
    service_id: UUID | None = None


class BillingIn(Body):
    plan: Short
    price: Money
    currency: Short
    cycle: Literal["monthly", "quarterly", "semiannual", "annual"]
    billing_day: int
    payment_method: Short | None = None
    billing_address: Text | None = None


class PaymentIn(Body):
    amount: Money
    currency: Short
    method: Short
    reference: Short | None = None
    paid_at: datetime


class RefundIn(Body):
    amount: Money
    reason: Text | None = None


class TouchpointIn(Body):
    kind: Literal["call", "email", "visit", "support_request", "note"]
    note: LongText
    occurred_at: datetime | None = None


PartyPatch = partial(PartyIn, "PartyPatch")
EngineerPatch = partial(EngineerIn, "EngineerPatch")
ServiceContractPatch = partial(ServiceContractIn, "ServiceContractPatch")
ServicePatch = partial(ServiceIn, "ServicePatch")
PlanPatch = partial(PlanIn, "PlanPatch")
HotspotPatch = partial(HotspotIn, "HotspotPatch")
DevicePatch = partial(DeviceIn, "DevicePatch")
