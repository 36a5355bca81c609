"""The LibreQoS feed: one circuit per service of an open subscription, read from the read side.

LibreQoS's WISPGate integration (src/integrationWISPGate.py in LibreQoE/LibreQoS) posts the form
field `api_token` to /api/libreqos/shaped-devices and reads a JSON array with exactly the keys of
its ShapedDevices.csv. It turns rates into numbers with int(), so rates are JSON integers, and it
puts `Device Name` into messages, so that is never null. LibreQoS needs each address once, so a
service's addresses travel on one shaped device, comma-separated as in ShapedDevices.csv.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import asyncpg

# Active and Inactive subscriptions are shaped at their service's rates, Suspended ones at the
# trickle; disabled services and closed subscriptions are left out. Read in keyset pages by the
# service's id (the primary key's order), each a short statement of its own: no transaction or
# cursor stays open while a slow client reads the answer.
SHAPED = """
select s.id, s.plan, s.download_max_mbps, s.upload_max_mbps, s.download_min_mbps,
       s.upload_min_mbps, s.ipv4, s.ipv6, s.mac, s.parent_node, s.subscription_status,
       sub.unique_id, sub.name,
       d.id as device_id, d.name as device_name, d.mac as device_mac
from read.services s
join read.subscriptions sub on sub.tenant_id = s.tenant_id and sub.id = s.subscription_id
left join lateral (
    -- the first device linked to the service
    select dv.id, dv.name, dv.mac from read.devices dv
    where dv.tenant_id = s.tenant_id and dv.service_id = s.id
    order by dv.created_at, dv.id
    limit 1
) d on true
where s.tenant_id = $1 and s.id > $2 and s.status = 'active'
  and s.subscription_status in ('Active', 'Inactive', 'Suspended')
order by s.id
limit $3
"""

BATCH = 1000


def shaped_device(row: asyncpg.Record, trickle_mbps: int) -> dict[str, Any]:
    """One ShapedDevices.csv row for a service."""
    suspended = row["subscription_status"] == "Suspended"
    down_max = trickle_mbps if suspended else row["download_max_mbps"]
    up_max = trickle_mbps if suspended else row["upload_max_mbps"]
    # Without a committed rate the circuit is guaranteed what it may use at most.
    down_min = min(row["download_min_mbps"] or down_max, down_max)
    up_min = min(row["upload_min_mbps"] or up_max, up_max)
    return {
        "Circuit ID": str(row["id"]),
        "Circuit Name": f"{row['unique_id']} {row['name']}",
        "Device ID": str(row["device_id"] or row["id"]),
        "Device Name": row["device_name"] or f"{row['unique_id']} {row['plan']}",
        "Parent Node": row["parent_node"] or "",
        "MAC": row["device_mac"] or row["mac"] or "",
        "IPv4": ", ".join(row["ipv4"]),
        "IPv6": ", ".join(row["ipv6"]),
        "Download Min Mbps": int(down_min),
        "Upload Min Mbps": int(up_min),
        "Download Max Mbps": int(down_max),
        "Upload Max Mbps": int(up_max),
        "Comment": f"{row['unique_id']} {row['subscription_status']}",
    }


async def stream(pool: asyncpg.Pool, tenant_id: str, trickle_mbps: int) -> AsyncIterator[bytes]:
    """The tenant's shaped devices as a JSON array, a page per chunk: memory stays flat."""
    after = UUID(int=0)
    separator = "["
    while True:
        rows = await pool.fetch(SHAPED, tenant_id, after, BATCH)
        if rows:
            devices = ",".join(
                json.dumps(shaped_device(row, trickle_mbps), separators=(",", ":")) for row in rows
            )
            yield (separator + devices).encode()
            separator = ","
            after = rows[-1]["id"]
        if len(rows) < BATCH:
            yield b"]" if separator == "," else b"[]"
            return
