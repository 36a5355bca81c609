"""Use cases of the inner page: services, hotspot accounts and devices, billing, payments,
refunds and touchpoints."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid4

from contracts import commands as c
from services.subscription.usecases import inputs
from services.subscription.usecases.calls import (
    CHANGED,
    CREATED,
    Call,
    Result,
    Runner,
    changed,
    item,
    now,
)
from services.subscription.usecases.inputs import Body, PaymentIn, RefundIn, TouchpointIn
from services.subscription.write.handlers import Outcome


@dataclass(frozen=True)
class ItemKind:
    """One kind of item of a subscription, its input and the commands that change it."""

    path: str
    label: str
    id_field: str
    create_model: type[Body]
    patch_model: type[Body]
    add: type
    update: type
    remove: type


ITEM_KINDS = {
    kind.path: kind
    for kind in (
        ItemKind(
            "services", "service", "service_id", inputs.ServiceIn, inputs.ServicePatch,
            c.AddService, c.UpdateService, c.RemoveService,
        ),
        ItemKind(
            "hotspots", "hotspot account", "hotspot_id", inputs.HotspotIn, inputs.HotspotPatch,
            c.AddHotspot, c.UpdateHotspot, c.RemoveHotspot,
        ),
        ItemKind(
            "devices", "device", "device_id", inputs.DeviceIn, inputs.DevicePatch,
            c.LinkDevice, c.UpdateDevice, c.UnlinkDevice,
        ),
    )
}  # fmt: skip


def _removed(outcome: Outcome) -> tuple[str, dict[str, object]]:
    return CHANGED, {"version": outcome.version, "position": outcome.position}


class Account:
    """Changes to what a subscription holds and what it was paid, for a caller."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner

    async def add_item(
        self, call: Call, kind: ItemKind, subscription_id: UUID, data: Body
    ) -> Result:
        """Add a service, hotspot account or device: the new item's id."""
        item_id = uuid4()
        command = kind.add(
            subscription_id=subscription_id,
            fields=data.model_dump(mode="json"),
            now=now(),
            **{kind.id_field: item_id},
        )
        return await self._runner.subscription(call, command, item(CREATED, item_id))

    async def update_item(
        self, call: Call, kind: ItemKind, subscription_id: UUID, item_id: UUID, data: Body
    ) -> Result:
        """Change the fields sent of one item."""
        command = kind.update(
            subscription_id=subscription_id,
            changes=data.given(),
            now=now(),
            **{kind.id_field: item_id},
        )
        return await self._runner.subscription(call, command, item(CHANGED, item_id))

    async def remove_item(
        self, call: Call, kind: ItemKind, subscription_id: UUID, item_id: UUID
    ) -> Result:
        """Remove one item: the stream's version and position."""
        command = kind.remove(
            subscription_id=subscription_id, now=now(), **{kind.id_field: item_id}
        )
        return await self._runner.subscription(call, command, _removed)

    async def set_billing(
        self, call: Call, subscription_id: UUID, data: inputs.BillingIn
    ) -> Result:
        """Set the plan, price, currency, cycle, billing day and payment method."""
        command = c.SetBilling(
            subscription_id=subscription_id, fields=data.model_dump(mode="python"), now=now()
        )
        return await self._runner.subscription(call, command, changed)

    async def record_payment(self, call: Call, subscription_id: UUID, data: PaymentIn) -> Result:
        """Record a payment: its id."""
        payment_id = uuid4()
        command = c.RecordPayment(
            subscription_id=subscription_id,
            payment_id=payment_id,
            fields=data.model_dump(mode="python"),
            now=now(),
        )
        return await self._runner.subscription(call, command, item(CREATED, payment_id))

    async def refund_payment(
        self, call: Call, subscription_id: UUID, payment_id: UUID, data: RefundIn
    ) -> Result:
        """Refund or void a payment: the refund's id."""
        refund_id = uuid4()
        command = c.RefundPayment(
            subscription_id=subscription_id,
            payment_id=payment_id,
            refund_id=refund_id,
            amount=data.amount,
            reason=data.reason,
            now=now(),
        )
        return await self._runner.subscription(call, command, item(CREATED, refund_id))

    async def log_touchpoint(self, call: Call, subscription_id: UUID, data: TouchpointIn) -> Result:
        """Log a call, email, visit, support request or note: its id."""
        touchpoint_id = uuid4()
        command = c.LogTouchpoint(
            subscription_id=subscription_id,
            touchpoint_id=touchpoint_id,
            kind=data.kind,
            note=data.note,
            occurred_at=data.occurred_at,
            now=now(),
        )
        return await self._runner.subscription(call, command, item(CREATED, touchpoint_id))
