"""Services, hotspot accounts and devices of an open subscription."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, assert_never
from uuid import UUID

from contracts import inner as ev
from contracts.base import Event
from contracts.commands import (
    AddHotspot,
    AddService,
    ItemCommand,
    LinkDevice,
    RemoveHotspot,
    RemoveService,
    UnlinkDevice,
    UpdateDevice,
    UpdateHotspot,
    UpdateService,
)
from contracts.values import normalize_mac, parse_ip, parse_ipv4, parse_ipv6
from services.subscription.domain.errors import AlreadyExists, Invalid, NotFound
from services.subscription.domain.fields import Fields
from services.subscription.domain.plans import SHAPING_FIELDS, Plans, rates
from services.subscription.domain.service_plans import (
    editable,
    not_retired,
    on_plan,
    plan_id_of,
)

SERVICE_FIELDS = set(ev.ServiceFields.model_fields) - {"overrides"}
HOTSPOT_FIELDS = set(ev.HotspotFields.model_fields)
DEVICE_FIELDS = (set(ev.DeviceFields.model_fields) - {"device_type"}) | {"type"}


@dataclass(frozen=True)
class Items:
    """What the Services, Hotspot and Devices tabs hold."""

    services: Mapping[UUID, ev.ServiceFields] = field(default_factory=dict)
    hotspots: Mapping[UUID, ev.HotspotFields] = field(default_factory=dict)
    devices: Mapping[UUID, ev.DeviceFields] = field(default_factory=dict)
    pending: Mapping[UUID, ev.ServicePlanChangeScheduled] = field(default_factory=dict)
    """The plan change pending for a service, by service id."""


def decide(command: ItemCommand, items: Items, plans: Plans | None = None) -> list[Event]:
    """Events that carry out an item command on an open subscription, with the plans of the
    tenant that the command and its service name."""
    plans = plans or {}
    match command:
        case AddService():
            _absent(items.services, command.service_id, "service")
            service = service_fields(command.fields, plans)
            not_retired(plans, service.plan_id)
            _no_overlap(items, command.service_id, service)
            return [ev.ServiceAdded(service_id=command.service_id, **_dump(service))]
        case UpdateService():
            old = present(items.services, command.service_id, "service")
            new = service_fields({**editable(old, command.changes), **command.changes}, plans)
            not_retired(plans, new.plan_id, kept=old.plan_id)
            _no_overlap(items, command.service_id, new)
            return _service_update(command.service_id, old, new)
        case RemoveService():
            present(items.services, command.service_id, "service")
            detached: list[Event] = [
                _device_updated(device_id, device, service_id=None)
                for device_id, device in items.devices.items()
                if device.service_id == command.service_id
            ]
            return [*detached, ev.ServiceRemoved(service_id=command.service_id)]
        case AddHotspot():
            _absent(items.hotspots, command.hotspot_id, "hotspot account")
            hotspot = _hotspot(command.fields)
            return [ev.HotspotAdded(hotspot_id=command.hotspot_id, **_dump(hotspot))]
        case UpdateHotspot():
            old_hotspot = present(items.hotspots, command.hotspot_id, "hotspot account")
            new_hotspot = _hotspot({**_dump(old_hotspot), **command.changes})
            changed = _changed(old_hotspot, new_hotspot)
            if not changed:
                return []
            return [
                ev.HotspotUpdated(
                    hotspot_id=command.hotspot_id, changed=changed, **_dump(new_hotspot)
                )
            ]
        case RemoveHotspot():
            present(items.hotspots, command.hotspot_id, "hotspot account")
            return [ev.HotspotRemoved(hotspot_id=command.hotspot_id)]
        case LinkDevice():
            _absent(items.devices, command.device_id, "device")
            device = _device(command.fields, items)
            return [ev.DeviceLinked(device_id=command.device_id, **_dump(device))]
        case UpdateDevice():
            old_device = present(items.devices, command.device_id, "device")
            merged = {**_api_device(old_device), **command.changes}
            new_device = _device(merged, items)
            changed = _changed(old_device, new_device)
            if not changed:
                return []
            return [
                ev.DeviceUpdated(device_id=command.device_id, changed=changed, **_dump(new_device))
            ]
        case UnlinkDevice():
            present(items.devices, command.device_id, "device")
            return [ev.DeviceUnlinked(device_id=command.device_id)]
        case _:
            assert_never(command)


def evolve(items: Items, event: Event) -> Items:
    """Items after one of their events."""
    match event:
        case ev.ServiceAdded() | ev.ServiceUpdated():
            service = ev.ServiceFields.model_validate(_dump(event))
            return replace(items, services={**items.services, event.service_id: service})
        case ev.ServiceStatusChanged():
            current = items.services[event.service_id]
            changed = current.model_copy(update={"status": event.to_status})
            return replace(items, services={**items.services, event.service_id: changed})
        case ev.ServiceRemoved():
            return replace(
                items,
                services=_without(items.services, event.service_id),
                pending=_without(items.pending, event.service_id),
            )
        case ev.HotspotAdded() | ev.HotspotUpdated():
            hotspot = ev.HotspotFields.model_validate(_dump(event))
            return replace(items, hotspots={**items.hotspots, event.hotspot_id: hotspot})
        case ev.HotspotRemoved():
            return replace(items, hotspots=_without(items.hotspots, event.hotspot_id))
        case ev.DeviceLinked() | ev.DeviceUpdated():
            device = ev.DeviceFields.model_validate(_dump(event))
            return replace(items, devices={**items.devices, event.device_id: device})
        case ev.DeviceUnlinked():
            return replace(items, devices=_without(items.devices, event.device_id))
        case _:
            return items


def service_fields(values: Mapping[str, Any], plans: Plans) -> ev.ServiceFields:
    """A service's fields, checked, on its plan if it names one."""
    Fields(values, SERVICE_FIELDS)  # unknown fields first, named as sent
    values, overrides = on_plan(values, plans)
    f = Fields(values, SERVICE_FIELDS)
    shaped = rates(f)
    return ev.ServiceFields(
        plan=f.text("plan", required=True, max_length=100),
        **shaped,
        ipv4=_distinct(f.parsed_list("ipv4", parse_ipv4), "/ipv4"),
        ipv6=_distinct(f.parsed_list("ipv6", parse_ipv6), "/ipv6"),
        pppoe_username=f.token("pppoe_username"),
        mac=f.parsed("mac", normalize_mac),
        parent_node=f.text("parent_node", max_length=100),
        installation_address=f.text("installation_address", max_length=500, multiline=True),
        status=f.choice("status", ("active", "disabled"), default="active"),
        plan_id=plan_id_of(values),
        overrides=overrides,
    )


def _service_update(service_id: UUID, old: ev.ServiceFields, new: ev.ServiceFields) -> list[Event]:
    changed = [name for name in _changed(old, new) if name not in _followed(old, new)]
    events: list[Event] = []
    if changed:
        events.append(ev.ServiceUpdated(service_id=service_id, changed=changed, **_dump(new)))
    if new.status != old.status:
        events.append(
            ev.ServiceStatusChanged(
                service_id=service_id, from_status=old.status, to_status=new.status
            )
        )
    return events


def _followed(old: ev.ServiceFields, new: ev.ServiceFields) -> set[str]:
    """Fields an edit does not count as changed: the status (an event of its own) and, on the
    same plan, what the service follows of it (the plan's own edits moved those)."""
    if old.plan_id is None or old.plan_id != new.plan_id:
        return {"status"}
    own = {*old.overrides, *new.overrides}
    return {"status", "plan", *(name for name in SHAPING_FIELDS if name not in own)}


def _hotspot(values: Mapping[str, Any]) -> ev.HotspotFields:
    f = Fields(values, HOTSPOT_FIELDS)
    return ev.HotspotFields(
        login=f.token("login", required=True),
        profile=f.text("profile", max_length=50),
        time_limit_minutes=f.whole("time_limit_minutes"),
        data_limit_mb=f.whole("data_limit_mb"),
        expires_at=f.moment("expires_at"),
        status=f.choice("status", ("active", "disabled"), default="active"),
    )


def _device(values: Mapping[str, Any], items: Items) -> ev.DeviceFields:
    f = Fields(values, DEVICE_FIELDS)
    service_id = values.get("service_id")
    if service_id is not None:
        try:
            service_id = UUID(str(service_id))
        except ValueError:
            raise Invalid("service_id must be a service id", "/service_id") from None
        if service_id not in items.services:
            raise Invalid("service_id is not a service of this subscription", "/service_id")
    return ev.DeviceFields(
        name=f.text("name", required=True, max_length=100),
        device_type=f.text("type", required=True, max_length=50),
        vendor=f.text("vendor", max_length=100),
        model=f.text("model", max_length=100),
        serial=f.text("serial", max_length=100),
        mac=f.parsed("mac", normalize_mac),
        ip=f.parsed("ip", parse_ip),
        parent_node=f.text("parent_node", max_length=100),
        service_id=service_id,
    )


def _api_device(device: ev.DeviceFields) -> dict[str, Any]:
    values = _dump(device)
    values["type"] = values.pop("device_type")
    return values


def _device_updated(device_id: UUID, device: ev.DeviceFields, **changes: Any) -> Event:
    new = device.model_copy(update=changes)
    return ev.DeviceUpdated(device_id=device_id, changed=sorted(changes), **_dump(new))


def _no_overlap(items: Items, service_id: UUID, service: ev.ServiceFields) -> None:
    """No two services of one subscription share an address or a PPPoE login."""
    for other_id, other in items.services.items():
        if other_id == service_id:
            continue
        for family in ("ipv4", "ipv6"):
            for index, mine in enumerate(getattr(service, family)):
                for theirs in getattr(other, family):
                    if ipaddress.ip_network(mine).overlaps(ipaddress.ip_network(theirs)):
                        raise Invalid(
                            f"{mine} overlaps {theirs} of another service of this subscription",
                            f"/{family}/{index}",
                        )
        if service.pppoe_username and service.pppoe_username == other.pppoe_username:
            raise Invalid(
                "another service of this subscription has this PPPoE username", "/pppoe_username"
            )


def _distinct(networks: list[str], pointer: str) -> list[str]:
    parsed = [ipaddress.ip_network(n) for n in networks]
    for i, a in enumerate(parsed):
        for b in parsed[:i]:
            if a.overlaps(b):
                raise Invalid(f"{a} overlaps {b} in the same list", f"{pointer}/{i}")
    return networks


def _changed(old: Any, new: Any) -> list[str]:
    before, after = _dump(old), _dump(new)
    return sorted(name for name in after if before.get(name) != after[name])


def _dump(model: Any) -> dict[str, Any]:
    """The item's own fields, without the event's type, change list and the item's own id."""
    own_id = _OWN_ID.get(type(model), set())
    values: dict[str, Any] = model.model_dump(exclude={"type", "changed", *own_id})
    return values


_OWN_ID: dict[type, set[str]] = {
    ev.ServiceAdded: {"service_id"},
    ev.ServiceUpdated: {"service_id"},
    ev.HotspotAdded: {"hotspot_id"},
    ev.HotspotUpdated: {"hotspot_id"},
    ev.DeviceLinked: {"device_id"},
    ev.DeviceUpdated: {"device_id"},
}


def _absent(existing: Mapping[UUID, Any], item_id: UUID, label: str) -> None:
    if item_id in existing:
        raise AlreadyExists(f"{label} {item_id} already exists")


def present(existing: Mapping[UUID, Any], item_id: UUID, label: str) -> Any:
    if item_id not in existing:
        raise NotFound(f"{label} {item_id} not found")
    return existing[item_id]


def _without(existing: Mapping[UUID, Any], item_id: UUID) -> dict[UUID, Any]:
    return {key: value for key, value in existing.items() if key != item_id}
