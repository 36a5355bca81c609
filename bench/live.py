"""The running system of the command and import scenarios: API, relay, projection worker, the
`commands` process and the importer worker (as `make run` starts them) plus the yardstick
endpoint, on the run's `live` database."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import asyncpg
import httpx

from .memory import Memory
from .runtime import Processes, World, admin_token, free_port

TENANT = "bench-live"

# Events not yet published by the relay or not yet applied by some projection.
BACKLOG = """
select (select count(*) from events.events e, events.relay_checkpoints r
        where r.namespace = $1 and (e.txid, e.position) > (r.txid, r.position))
     + (select count(*) from events.events e
        join read.checkpoints c on (e.txid, e.position) > (c.txid, c.position))
"""


class LiveSystem:
    """Started with `start()`, stopped with `stop()`; knows its URLs, token and directory."""

    def __init__(self, world: World, logs: Path, memory: Memory) -> None:
        self.world = world
        self.dsn = world.dsn("live")
        self.api_port, self.yardstick_port = free_port(), free_port()
        env = world.env(self.dsn, API_PORT=str(self.api_port))
        self.processes = Processes(env, logs, memory)
        self.logs = logs
        self.token = ""
        self.contact_id = ""
        self.engineer_id = ""

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def yardstick(self) -> str:
        return f"http://127.0.0.1:{self.yardstick_port}"

    def create_body(self, name: str = "Bench subscription") -> str:
        """JSON body of a create-subscription command."""
        return json.dumps(
            {
                "contact_id": self.contact_id,
                "engineer_id": self.engineer_id,
                "name": name,
                "status": "Active",
                "description": "created by the benchmark",
            }
        )

    async def start(self) -> None:
        """Set up the database and stream, start every process, register the directory."""
        await asyncio.to_thread(self.world.setup, self.dsn, self.logs)
        for name in ("api", "relay", "projections", "commands", "importer"):
            self.processes.start(name)
        self.processes.start("yardstick-api", API_PORT=str(self.yardstick_port))
        await self.processes.wait_http(f"{self.api}/readyz")
        await self.processes.wait_http(f"{self.yardstick}/healthz")
        await self.processes.wait_log("commands", "serving command batches")
        await self.processes.wait_log("importer", "importer started")
        self.token = await admin_token(self.dsn, TENANT)
        headers = {"Authorization": f"Bearer {self.token}"}
        async with httpx.AsyncClient(base_url=self.api, headers=headers, timeout=10) as http:
            contact = await http.post("/api/v1/contacts", json={"name": "Bench Contact"})
            engineer = await http.post("/api/v1/engineers", json={"name": "Bench Engineer"})
            for answer in (contact, engineer):
                answer.raise_for_status()
            self.contact_id = contact.json()["id"]
            self.engineer_id = engineer.json()["id"]
            created = await http.post(
                "/api/v1/subscriptions",
                content=self.create_body(),
                headers={"Content-Type": "application/json"},
            )
            if created.status_code != 201:
                raise RuntimeError(
                    f"create-subscription: {created.status_code} {created.text[:300]}"
                )
        await self.drain()

    async def drain(self, deadline_seconds: float = 300) -> float:
        """Seconds until the relay has published and every projection applied every event."""
        started = time.monotonic()
        conn = await asyncpg.connect(self.dsn)
        try:
            while await conn.fetchval(BACKLOG, self.world.namespace):
                self.processes.check()
                if time.monotonic() - started > deadline_seconds:
                    raise TimeoutError("relay or projections did not catch up")
                await asyncio.sleep(0.05)
        finally:
            await conn.close()
        return time.monotonic() - started

    def stop(self) -> None:
        self.processes.stop_all()
