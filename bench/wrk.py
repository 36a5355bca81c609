"""HTTP load from wrk (C, outside Python), so the client does not eat the server's CPU."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .memory import Memory

SCRIPT = Path(__file__).with_name("wrk.lua")
MARK = "WRK_JSON "


class WrkMissing(RuntimeError):
    """wrk is not installed (`apt-get install wrk`)."""


@dataclass(frozen=True)
class Load:
    """What wrk sends: connections, threads, seconds, and optionally a rate to hold."""

    url: str
    connections: int
    seconds: float
    threads: int = 1
    method: str = "GET"
    body: str | None = None
    token: str | None = None
    rate: float | None = None  # requests per second over all threads
    log_prefix: str | None = None
    paths_file: Path | None = None  # request paths (one a line) cycled through instead of url's


@dataclass(frozen=True)
class Outcome:
    requests: int
    seconds: float
    errors: int
    error_kinds: dict[str, int]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def successes(self) -> int:
        """Responses wrk counted that were not an error status (>= 400)."""
        return max(0, self.requests - self.error_kinds.get("status", 0))

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "rate": round(self.rate, 1), "successes": self.successes}


def available() -> bool:
    return shutil.which("wrk") is not None


async def run(load: Load, memory: Memory | None = None, label: str = "wrk") -> Outcome:
    """Run wrk once and return its figures."""
    if not available():
        raise WrkMissing("wrk is not installed: apt-get install wrk")
    env = {**os.environ, "BENCH_METHOD": load.method}
    if load.body is not None:
        env["BENCH_BODY"] = load.body
    if load.token is not None:
        env["BENCH_TOKEN"] = load.token
    if load.rate is not None:
        env["BENCH_RATE"] = str(load.rate / load.threads)
    if load.log_prefix is not None:
        env["BENCH_LOG"] = load.log_prefix
    if load.paths_file is not None:
        env["BENCH_PATHS"] = str(load.paths_file)
    seconds = max(1, round(load.seconds))
    command = [
        "wrk",
        f"-t{load.threads}",
        f"-c{load.connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(SCRIPT),
        load.url,
    ]
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    if memory is not None:
        memory.watch(label, process.pid)
    stdout, stderr = await process.communicate()
    if memory is not None:
        memory.forget(label)
    text = stdout.decode(errors="replace")
    line = next((x for x in text.splitlines() if x.startswith(MARK)), None)
    if process.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({process.returncode}): {text} {stderr.decode()}")
    data = json.loads(line[len(MARK) :])
    latency = data["latency_us"]
    return Outcome(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=sum(data["errors"].values()),
        error_kinds={k: v for k, v in data["errors"].items() if v},
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000,
    )
