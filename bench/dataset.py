"""A large tenant, loaded fast: events made with the contracts models and COPYed into the store.

Directory first (contacts, organizations, engineers, service contracts), then one
`subscription.created` per subscription with `occurred_at` spread over two years. Each chunk of
CHUNK rows is one COPY, one transaction; `position` and `txid` take their column defaults. The
read model is then built by the projections' own rebuild (the Rebuild scenario).
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg

from contracts import directory as dev
from contracts.base import Event
from contracts.envelope import Metadata
from contracts.events import CURRENT_SCHEMA_VERSION
from contracts.subscription import Status, SubscriptionCreated

TENANT = "bench-data"
CHUNK = 100_000
SPAN = timedelta(days=730)
COLUMNS = (
    "tenant_id", "stream_id", "stream_type", "version", "event_id", "type", "schema_version",
    "data", "metadata", "occurred_at",
)  # fmt: skip
FIRST = (
    "Ana Ben Carla David Elena Farid Grace Hugo Ines Jonas Kemal Lena Marco Nadia Omar Paula "
    "Quentin Rosa Samir Tara Umar Vera Wanjiru Xavier Yara Zeno Amani Bruno Chloe Dmitri"
).split()
LAST = (
    "Silva Okafor Nguyen Kowalski Haddad Moreau Rossi Tanaka Mensah Novak Fischer Costa Duarte "
    "Ibrahim Larsen Petrov Quispe Reyes Santos Tembo Usman Varga Weber Yilmaz Zulu Abbasi Banda "
    "Cruz Dlamini Esposito Garcia Huang Ivanova Jensen Kariuki Lopez Mwangi Nakamura Oliveira"
).split()
PLANS = ("Fibre 100", "Fibre 500", "Fibre 1000", "Wireless 20", "Wireless 50", "Business 1G")
STATUSES = (Status.ACTIVE,) * 70 + (Status.INACTIVE,) * 10 + (Status.SUSPENDED,) * 8
STATUSES += (Status.CANCELLED,) * 7 + (Status.COMPLETED,) * 5
METADATA = Metadata(actor="bench-loader").model_dump_json()


@dataclass
class Dataset:
    """What was loaded, for the queries that follow."""

    tenant_id: str
    subscriptions: int
    events: int = 0
    seconds: float = 0.0
    contacts: list[tuple[uuid.UUID, str]] = field(default_factory=list)
    organizations: list[uuid.UUID] = field(default_factory=list)
    engineers: list[uuid.UUID] = field(default_factory=list)
    contracts: list[uuid.UUID] = field(default_factory=list)


def new_uuid(rng: random.Random) -> uuid.UUID:
    """A version-4 UUID from the seeded generator (the same dataset on every run)."""
    return uuid.UUID(int=rng.getrandbits(128), version=4)


class Rows:
    """Rows of events.events, in COPY column order."""

    def __init__(self, dataset: Dataset, rng: random.Random) -> None:
        self.d, self.rng = dataset, rng
        self.start = datetime.now(UTC) - SPAN

    def row(
        self, stream_type: str, stream_id: uuid.UUID, event: Event, at: datetime, version: int = 1
    ) -> tuple:
        """One event as the API stores it (data without `type`, current schema version)."""
        data = event.model_dump_json(exclude={"type"})
        event_type = event.type  # type: ignore[attr-defined]
        return (self.d.tenant_id, stream_id, stream_type, version, new_uuid(self.rng), event_type,
                CURRENT_SCHEMA_VERSION[event_type], data, METADATA, at)  # fmt: skip

    def directory(self) -> list[tuple]:
        """Contacts, organizations, engineers and service contracts, a day before the first."""
        d, rng, at, rows = self.d, self.rng, self.start - timedelta(days=1), []
        n = max(10, d.subscriptions // 100)
        for i in range(n):
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            d.contacts.append((new_uuid(rng), name))
            rows.append(self.row("contact", d.contacts[-1][0], dev.ContactRegistered(
                name=name, email=f"c{i}@example.net"), at))  # fmt: skip
        for i in range(max(5, n // 10)):
            d.organizations.append(new_uuid(rng))
            event = dev.OrganizationRegistered(name=f"{rng.choice(LAST)} Holdings {i}")
            rows.append(self.row("organization", d.organizations[-1], event, at))
        for i in range(50):
            d.engineers.append(new_uuid(rng))
            event = dev.EngineerRegistered(name=f"Engineer {rng.choice(FIRST)} {i}")
            rows.append(self.row("engineer", d.engineers[-1], event, at))
        for i in range(20):
            d.contracts.append(new_uuid(rng))
            event = dev.ServiceContractRegistered(number=f"SC-{i:03d}", title=f"Contract {i}")
            rows.append(self.row("service_contract", d.contracts[-1], event, at))
        return rows

    def subscriptions(self, first: int, count: int) -> list[tuple]:
        d, rng, rows = self.d, self.rng, []
        step = SPAN / max(1, d.subscriptions)
        for number in range(first, first + count):
            contact_id, contact_name = rng.choice(d.contacts)
            event = SubscriptionCreated(
                unique_id=f"SUB-{number:07d}",
                name=f"{contact_name} {rng.choice(PLANS)}",
                contact_id=contact_id,
                organization_id=rng.choice(d.organizations) if rng.random() < 0.7 else None,
                engineer_id=rng.choice(d.engineers),
                service_contract_id=rng.choice(d.contracts) if rng.random() < 0.5 else None,
                status=rng.choice(STATUSES),
            )
            rows.append(self.row("subscription", new_uuid(rng), event, self.start + step * number))
        return rows


def chunks(dataset: Dataset, seed: int = 42) -> Iterator[list[tuple]]:
    """The dataset's rows, CHUNK at a time (the directory comes first)."""
    rows = Rows(dataset, random.Random(seed))
    yield rows.directory()
    for first in range(1, dataset.subscriptions + 1, CHUNK):
        yield rows.subscriptions(first, min(CHUNK, dataset.subscriptions + 1 - first))


async def load(dsn: str, subscriptions: int) -> Dataset:
    """COPY the dataset's events into events.events (jsonb as text: no codec on purpose)."""
    dataset = Dataset(TENANT, subscriptions)
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        for rows in chunks(dataset):
            await conn.copy_records_to_table(
                "events", schema_name="events", records=rows, columns=COLUMNS
            )
            dataset.events += len(rows)
    finally:
        await conn.close()
    dataset.seconds = time.perf_counter() - started
    return dataset
