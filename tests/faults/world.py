"""One fault at a time under load: what happened, when, and the figures the suite logs."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from openpyxl import Workbook

from contracts.spreadsheet import COLUMNS
from tests.conftest import tenant
from tests.faults import checks
from tests.faults.load import Load, Readiness, Seen
from tests.faults.servers import NatsCluster, PrivatePostgres
from tests.faults.system import Processes
from tests.helpers import admin_client, directory, until

NAMESPACE = "faults"
CONTACT, ENGINEER = "Fault Contact", "Fault Engineer"
BASELINE_SECONDS = 2.0  # load before each fault
RECOVERY_WITHIN = 90.0  # seconds after the server's return for the lag to reach zero


def report(line: str) -> None:
    """One line of the suite's log (shown with `-s`, as `make faults` runs it)."""
    print(f"[faults {time.strftime('%H:%M:%S')}] {line}", flush=True)


@dataclass
class Fault:
    """The moments of one fault (monotonic seconds) and what was compared after it."""

    name: str
    started: float = 0.0  # the server went away
    back: float = 0.0  # the server was back
    figures: dict[str, Any] = field(default_factory=dict)

    def away(self) -> None:
        self.started = time.monotonic()
        report(f"{self.name}: server away")

    def returned(self) -> None:
        self.back = time.monotonic()
        report(f"{self.name}: server back after {self.back - self.started:.1f} s")


class World:
    """The servers, the processes and a pool on the private database."""

    def __init__(
        self,
        pg: PrivatePostgres,
        cluster: NatsCluster,
        processes: Processes,
        pool: asyncpg.Pool,
        logs: Path,
    ) -> None:
        self.pg, self.cluster, self.processes, self.pool, self.logs = (
            pg, cluster, processes, pool, logs,
        )  # fmt: skip
        self.faults: list[Fault] = []

    @asynccontextmanager
    async def client(self) -> AsyncIterator[tuple[httpx.AsyncClient, str, dict[str, str]]]:
        """An admin client of a fresh tenant with a contact and an engineer."""
        tenant_id = tenant()
        async with admin_client(self.processes.base_url, self.pool, tenant_id, "faults") as http:
            refs = await directory(
                http,
                contact_id={"name": CONTACT},
                engineer_id={"name": ENGINEER},
                organization_id=None,
                service_contract_id=None,
            )
            yield http, tenant_id, refs

    async def settled(self) -> None:
        """Every process alive, /readyz green, nothing left to publish or project."""
        self.processes.check()
        await until(self._ready, 60, 0.25, lambda: f"/readyz stayed red: {self.tail('api')}")
        await checks.drained(self.pool, NAMESPACE)

    async def _ready(self) -> bool:
        try:
            async with httpx.AsyncClient(timeout=3) as client:
                response = await client.get(f"{self.processes.base_url}/readyz")
            return response.status_code == 200
        except httpx.HTTPError:
            return False

    def tail(self, name: str) -> str:
        return self.processes.tail(name)

    async def under_load(self, fault: Fault, act: Any) -> Seen:
        """Run `act(fault)` under load; keep the load on until the lag is zero again."""
        await self.settled()
        async with self.client() as (http, tenant_id, refs):
            readiness = Readiness(self.processes.base_url)
            lag = checks.Lag(self.pool, NAMESPACE)
            load = Load(http, refs)
            try:
                await asyncio.sleep(BASELINE_SECONDS)
                await act(fault, http)

                async def recovered() -> bool:
                    return lag.zero_after(fault.back) is not None

                with suppress(AssertionError):  # asserted below, once the figures are logged
                    await until(recovered, RECOVERY_WITHIN, 0.2)
                await asyncio.sleep(1.0)
            finally:
                seen = await load.finish()
                await lag.finish()
            await self.settled()
            await readiness.finish()
            fault.figures |= {
                "tenant": tenant_id,
                "outage_s": round(fault.back - fault.started, 1),
                "lag_zero_after_return_s": _rounded(lag.zero_after(fault.back)),
                "longest_relay_stall_s": round(lag.longest_stall("relay"), 1),
                "published_while_away": lag.flowing_while_away(fault.started, fault.back),
                "longest_projection_stall_s": round(lag.longest_stall("projections"), 1),
                "readyz_red_s": round(readiness.red_seconds(), 1),
                "answers": dict(sorted(seen.statuses.items())),
                "unavailable_503": seen.unavailable,
                "slowest_answer_s": round(seen.slowest, 2),
                "hangs": seen.hangs,
                "reads": seen.reads,
            }
            fault.figures["went_red"] = readiness.went_red()
            self.faults.append(fault)
            self._assert_clients(fault, seen, lag)
            fault.figures["commands"] = await checks.acknowledged_once(self.pool, tenant_id, seen)
            report(f"{fault.name}: commands {fault.figures['commands']}")
            return seen

    def _assert_clients(self, fault: Fault, seen: Seen, lag: checks.Lag) -> None:
        report(f"{fault.name}: {fault.figures}")
        assert not seen.server_errors, seen.server_errors[:5]
        assert seen.hangs == 0, f"{seen.hangs} requests unanswered within the client's timeout"
        assert seen.transport_errors == 0, f"{seen.transport_errors} connections failed"
        assert seen.retry_after_missing == 0, "503 without Retry-After"
        assert lag.zero_after(fault.back) is not None, "the lag never reached zero"

    async def verify(self, fault: Fault) -> None:
        """The stream holds each stored event once; the read models equal a rebuild."""
        fault.figures["stream"] = await checks.stream_holds_each_once(
            self.cluster, self.pool, NAMESPACE
        )
        report(f"{fault.name}: stream {fault.figures['stream']}")
        fault.figures["read_models"] = await checks.read_models_equal_rebuild(
            self.pool, self.processes
        )
        report(f"{fault.name}: read models equal a rebuild {fault.figures['read_models']}")

    async def submit_import(self, http: httpx.AsyncClient, rows: int) -> str:
        """Upload a spreadsheet of `rows` new subscriptions; its import id."""
        wb = Workbook()
        sheet = wb.active
        assert sheet is not None
        sheet.title = "Subscriptions"
        sheet.append(list(COLUMNS))
        for n in range(rows):
            sheet.append(["", f"Imported {n}", CONTACT, "", "Active", ENGINEER, "", ""])
        content = io.BytesIO()
        wb.save(content)
        response = await http.post(
            "/api/v1/imports", files={"file": ("faults.xlsx", content.getvalue())}
        )
        assert response.status_code == 202, response.text
        return str(response.json()["import_id"])

    async def import_job(self, http: httpx.AsyncClient, import_id: str) -> dict[str, Any]:
        response = await http.get(f"/api/v1/imports/{import_id}", timeout=10)
        if response.status_code != 200:
            return {"state": f"answered {response.status_code}", "rows_processed": 0}
        return dict(response.json())

    def summary(self) -> None:
        """The figures of every fault, one line each, at the end of the module."""
        report(
            "summary: outage s | lag zero s after return | longest relay stall s | /readyz red s"
            " | 503s / answers | acknowledged = stored once | events stored = in stream"
            " | read-model rows = rebuild"
        )
        for fault in self.faults:
            f = fault.figures
            commands, stream = f.get("commands", {}), f.get("stream", {})
            report(
                f"  {fault.name}: {f['outage_s']} | {f['lag_zero_after_return_s']}"
                f" | {f['longest_relay_stall_s']} | {f['readyz_red_s']}"
                f" | {f['unavailable_503']} / {sum(f['answers'].values())}"
                f" | {commands.get('acknowledged')} = {commands.get('stored_once')}"
                f" | {stream.get('stored')} = {stream.get('in_stream')}"
                f" | {f.get('read_models', {}).get('rows')}"
                + (f" | import {f['import']}" if "import" in f else "")
            )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
