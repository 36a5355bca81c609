"""Events of the plan catalogue: each plan of a tenant is a stream of its own (`plan`).

A plan says what a service on it is shaped to and what it costs. Services refer to a plan by id
and take its rates unless they override them; a retired plan stays with the services on it and
is offered to no new one.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from contracts.base import Event
from contracts.inner import BillingCycle


class PlanFields(Event):
    """What a plan is: its rates, QoS mode, price per cycle."""

    name: str
    download_max_mbps: int
    upload_max_mbps: int
    download_min_mbps: int | None = None
    upload_min_mbps: int | None = None
    qos_mode: str | None = None
    price: Decimal
    currency: str
    cycle: BillingCycle
    data_cap_gb: int | None = None


class PlanCreated(PlanFields):
    type: Literal["plan.created"] = "plan.created"


class PlanEdited(PlanFields):
    """The plan as it now is; `changed` names the fields that differ from before."""

    type: Literal["plan.edited"] = "plan.edited"
    changed: list[str]


class PlanRetired(Event):
    """Offered to no new service; the services on it keep it."""

    type: Literal["plan.retired"] = "plan.retired"
    reason: str | None = None


PlanEvent = PlanCreated | PlanEdited | PlanRetired
