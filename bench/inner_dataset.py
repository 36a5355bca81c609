"""A tenant whose subscriptions each have a service and a device, loaded fast, as the API leaves it.

Per subscription three events of its stream: `subscription.created` (an open status),
`subscription.service_added` (one IPv4 address from 100.64.0.0/10, a PPPoE login) and
`subscription.device_linked` (a CPE on that service). Beside the events, what the append
transaction would have written: the `unique_id` and `pppoe` reservations, the address
reservation, and the tenant's unique-ID sequence moved past the last number. Everything is
COPYed, CHUNK subscriptions per transaction; the read models come from the projections' rebuild.
"""

from __future__ import annotations

import ipaddress
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg

from contracts import inner as ev
from contracts.subscription import Status, SubscriptionCreated
from plumbing.postgres import create_pool
from services.subscription.write.unique_ids import UniqueIds, format_number

from .dataset import COLUMNS, PLANS, SPAN, Dataset, Rows, new_uuid

TENANT = "bench-inner"
CHUNK = 20_000
FIRST_ADDRESS = ipaddress.IPv4Address("100.64.0.0")  # shared address space (RFC 6598), a /10
# Open statuses only: a closed subscription holds no address and is not shaped.
STATUSES = (Status.ACTIVE,) * 85 + (Status.INACTIVE,) * 8 + (Status.SUSPENDED,) * 7
SPEEDS = {"Fibre": (100, 500, 1000), "Wireless": (20, 50), "Business": (1000,)}
VENDORS = (("Ubiquiti", "airMAX AC"), ("MikroTik", "hAP ax2"), ("Huawei", "HG8245"))
NODES = 200  # access points / sites the services hang off
RESERVATION_COLUMNS = ("tenant_id", "kind", "value", "stream_id")
ADDRESS_COLUMNS = ("tenant_id", "kind", "value", "net", "stream_id")


@dataclass
class InnerDataset(Dataset):
    """What was loaded: the subscriptions' ids in creation order, for sampling."""

    subscription_ids: list[uuid.UUID] = field(default_factory=list)
    reservations: int = 0


@dataclass
class _Chunk:
    events: list[tuple] = field(default_factory=list)
    reservations: list[tuple] = field(default_factory=list)
    addresses: list[tuple] = field(default_factory=list)


def _mac(rng: random.Random) -> str:
    # A locally administered unicast address (first octet x2, x6, xA or xE).
    octets = [rng.randrange(256) & 0xFC | 0x02, *(rng.randrange(256) for _ in range(5))]
    return ":".join(f"{o:02x}" for o in octets)


def _subscription(rows: Rows, number: int, offset: int, chunk: _Chunk) -> None:
    d, rng = rows.d, rows.rng
    assert isinstance(d, InnerDataset)
    stream_id, service_id, device_id = new_uuid(rng), new_uuid(rng), new_uuid(rng)
    d.subscription_ids.append(stream_id)
    contact_id, contact_name = rng.choice(d.contacts)
    plan = rng.choice(PLANS)
    family = plan.split()[0]
    download = rng.choice(SPEEDS[family])
    address = str(FIRST_ADDRESS + offset)
    unique_id, login = format_number(number), f"pppoe{number}"
    node = f"AP-{rng.randrange(NODES):03d}"
    created_at = rows.start + SPAN / max(1, d.subscriptions) * number
    events = (
        SubscriptionCreated(
            unique_id=unique_id,
            name=f"{contact_name} {plan}",
            contact_id=contact_id,
            organization_id=rng.choice(d.organizations) if rng.random() < 0.7 else None,
            engineer_id=rng.choice(d.engineers),
            status=rng.choice(STATUSES),
        ),
        ev.ServiceAdded(
            service_id=service_id,
            plan=plan,
            download_max_mbps=download,
            upload_max_mbps=max(1, download // 5),
            download_min_mbps=download // 10 or None,
            qos_mode="cake",
            ipv4=[address],
            pppoe_username=login,
            parent_node=node,
        ),
        ev.DeviceLinked(
            device_id=device_id,
            name=f"CPE {unique_id}",
            device_type="cpe",
            vendor=(vendor := rng.choice(VENDORS))[0],
            model=vendor[1],
            serial=f"SN{number:09d}",
            mac=_mac(rng),
            ip=str(ipaddress.IPv4Address("10.0.0.0") + number),
            parent_node=node,
            service_id=service_id,
        ),
    )
    for version, event in enumerate(events, start=1):
        at = created_at + timedelta(minutes=version - 1)
        chunk.events.append(rows.row("subscription", stream_id, event, at, version))
    chunk.reservations += [
        (d.tenant_id, "unique_id", unique_id, stream_id),
        (d.tenant_id, "pppoe", login, stream_id),
    ]
    chunk.addresses.append(
        (d.tenant_id, "ipv4", address, ipaddress.IPv4Network(address), stream_id)
    )


def chunks(dataset: InnerDataset, seed: int = 4) -> Iterator[_Chunk]:
    """The directory, then CHUNK subscriptions at a time."""
    rows = Rows(dataset, random.Random(seed))
    # Addresses in random order: inserted in ascending order, the exclusion constraint's GiST
    # index degrades (see bench/RESULTS.md) and the load would take minutes instead of seconds.
    offsets = list(range(1, dataset.subscriptions + 1))
    random.Random(seed + 1).shuffle(offsets)
    yield _Chunk(events=rows.directory())
    for first in range(1, dataset.subscriptions + 1, CHUNK):
        chunk = _Chunk()
        for number in range(first, min(first + CHUNK, dataset.subscriptions + 1)):
            _subscription(rows, number, offsets[number - 1], chunk)
        yield chunk


async def load(dsn: str, subscriptions: int) -> InnerDataset:
    """COPY the events and reservations; move the tenant's unique-ID sequence past them."""
    dataset = InnerDataset(TENANT, subscriptions)
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        for chunk in chunks(dataset):
            async with conn.transaction():
                await _copy(conn, "events", COLUMNS, chunk.events)
                await _copy(conn, "reservations", RESERVATION_COLUMNS, chunk.reservations)
                await _copy(conn, "address_reservations", ADDRESS_COLUMNS, chunk.addresses)
            dataset.events += len(chunk.events)
            dataset.reservations += len(chunk.reservations) + len(chunk.addresses)
    finally:
        await conn.close()
    pool = await create_pool(dsn, "wispgate-tests", 1)
    try:
        await UniqueIds(pool).move_past(TENANT, format_number(subscriptions))
    finally:
        await pool.close()
    dataset.seconds = time.perf_counter() - started
    return dataset


async def _copy(
    conn: asyncpg.Connection, table: str, columns: tuple[str, ...], rows: list[tuple]
) -> None:
    if rows:
        await conn.copy_records_to_table(table, schema_name="events", records=rows, columns=columns)
