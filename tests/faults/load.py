"""A bounded load of commands and reads, and what its clients saw while a server was away.

Each worker owns the subscriptions it created, so it knows their status and every status change
it sends changes something (one event per command). Every command carries an Idempotency-Key of
its own and is sent again with the same key after a 503 or a lost answer, until acknowledged or
the load stops; an acknowledged command must then be in the store exactly once, and one never
acknowledged at most once.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

STATUSES = ("Active", "Inactive", "Suspended")
# The API bounds every wait (pool acquire, statement, read-your-writes) below this; a request
# still unanswered after it is a hang.
REQUEST_TIMEOUT = 20.0
PACE = 0.08  # seconds between one worker's commands: a few dozen commands a second in all


@dataclass
class Seen:
    """What the clients saw."""

    statuses: Counter[int] = field(default_factory=Counter)
    retry_after_missing: int = 0
    server_errors: list[str] = field(default_factory=list)  # 5xx other than 503, 4xx unexpected
    hangs: int = 0
    transport_errors: int = 0
    slowest: float = 0.0
    acked: dict[str, int] = field(default_factory=dict)  # idempotency key -> position answered
    sent: set[str] = field(default_factory=set)
    reads: int = 0

    def answered(self, response: httpx.Response, took: float) -> None:
        self.statuses[response.status_code] += 1
        self.slowest = max(self.slowest, took)
        if response.status_code == 503 and not response.headers.get("retry-after"):
            self.retry_after_missing += 1

    @property
    def unavailable(self) -> int:
        return self.statuses[503]


class Load:
    """Workers sending creates, status changes and reads with `min_position` until stopped."""

    def __init__(self, http: httpx.AsyncClient, refs: dict[str, str], workers: int = 3) -> None:
        self.http = http
        self.refs = refs
        self.seen = Seen()
        self.stop = asyncio.Event()
        self.tasks = [asyncio.create_task(self._worker(n)) for n in range(workers)]

    async def finish(self) -> Seen:
        self.stop.set()
        await asyncio.gather(*self.tasks)
        return self.seen

    async def _worker(self, number: int) -> None:
        owned: dict[str, str] = {}  # subscription id -> its status
        last_position = 0
        sent = 0
        while not self.stop.is_set():
            roll = random.random()
            if owned and roll < 0.15:
                await self._read(random.choice(list(owned)), last_position)
            elif owned and roll < 0.55:
                sub_id = random.choice(list(owned))
                status = random.choice([s for s in STATUSES if s != owned[sub_id]])
                body: dict[str, Any] = {"status": status, "reason": "fault suite"}
                answer = await self._command(f"/api/v1/subscriptions/{sub_id}/status", body)
                if answer is None:
                    owned.pop(sub_id)  # its status is unknown now
                else:
                    owned[sub_id] = status
                    last_position = answer["position"]
            else:
                body = {**self.refs, "name": f"load {number}-{sent}", "status": "Active"}
                answer = await self._command("/api/v1/subscriptions", body)
                if answer is not None:
                    owned[answer["id"]] = "Active"
                    last_position = answer["position"]
            sent += 1
            await asyncio.sleep(PACE)

    async def _command(self, url: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """Send until acknowledged (the same key each time); None when the load stopped first
        or the command was refused."""
        key = str(uuid.uuid4())
        self.seen.sent.add(key)
        while not self.stop.is_set():
            response = await self._send("POST", url, json=body, headers={"Idempotency-Key": key})
            if response is None:
                await asyncio.sleep(0.5)
                continue
            if response.status_code in (200, 201):
                answer: dict[str, Any] = response.json()
                self.seen.acked[key] = answer["position"]
                return answer
            if response.status_code == 503:
                await asyncio.sleep(min(float(response.headers.get("retry-after") or 1), 2.0))
                continue
            self.seen.server_errors.append(f"POST {url}: {response.status_code} {response.text}")
            return None
        return None

    async def _read(self, sub_id: str, position: int) -> None:
        self.seen.reads += 1
        params = {"min_position": position} if position else {}
        response = await self._send("GET", f"/api/v1/subscriptions/{sub_id}", params=params)
        if response is not None and response.status_code not in (200, 503):
            self.seen.server_errors.append(f"GET {sub_id}: {response.status_code} {response.text}")

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response | None:
        start = time.monotonic()
        try:
            response = await self.http.request(method, url, timeout=REQUEST_TIMEOUT, **kwargs)
        except httpx.TimeoutException:
            self.seen.hangs += 1
            return None
        except httpx.TransportError:
            self.seen.transport_errors += 1
            return None
        self.seen.answered(response, time.monotonic() - start)
        return response


class Readiness:
    """Polls /readyz every quarter second: when it went red and when it came back."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.samples: list[tuple[float, int]] = []  # (monotonic time, status; 0 = no answer)
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(self._poll())

    async def _poll(self) -> None:
        async with httpx.AsyncClient(timeout=3) as client:
            while not self.stop.is_set():
                try:
                    status = (await client.get(f"{self.base_url}/readyz")).status_code
                except httpx.HTTPError:
                    status = 0
                self.samples.append((time.monotonic(), status))
                await asyncio.sleep(0.25)

    async def finish(self) -> None:
        self.stop.set()
        await self.task

    def red_seconds(self) -> float:
        """How long /readyz answered anything but 200, in all."""
        red, previous = 0.0, None
        for at, status in self.samples:
            if previous is not None and previous[1] != 200:
                red += at - previous[0]
            previous = (at, status)
        return red

    def went_red(self) -> bool:
        return any(status != 200 for _, status in self.samples)

    def green_at_end(self) -> bool:
        return bool(self.samples) and self.samples[-1][1] == 200
