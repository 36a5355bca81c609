"""The bench's own world: databases, a namespace, and the service processes `make run` starts.

Every run creates databases named `wispgate_bench_<hex>` and a namespace `bench<hex>`, and drops
both (databases `with (force)`, the JetStream streams) at the end, also when a scenario failed.
Nothing else on the servers is touched.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import nats

from contracts.subjects import events_stream, imports_stream
from plumbing.postgres import create_pool
from services.subscription.access import tokens

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
SERVICE_COMMANDS = {
    "api": [PY, "-m", "services.subscription", "api"],
    "relay": [PY, "-m", "services.subscription", "relay"],
    "projections": [PY, "-m", "services.projections", "worker"],
    "commands": [PY, "-m", "services.subscription", "commands"],
    "importer": [PY, "-m", "services.importer", "worker"],
    "yardstick-api": [PY, "-m", "bench.yardstick"],
}
SETUP_COMMANDS = [
    [PY, "-m", "services.subscription", "setup"],
    [PY, "-m", "services.projections", "setup"],
    [PY, "-m", "services.importer", "setup"],
]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class World:
    """Names of this run's databases and namespace, and how to make and remove them."""

    def __init__(self, server_dsn: str, nats_url: str) -> None:
        self.suffix = secrets.token_hex(4)
        self.namespace = f"bench{self.suffix}"
        self.server_dsn = server_dsn
        self.nats_url = nats_url
        self.databases: list[str] = []

    def dsn(self, purpose: str) -> str:
        """DSN of this run's database for one purpose (`live`, `data`); remembered for drop."""
        name = f"wispgate_bench_{self.suffix}_{purpose}"
        if name not in self.databases:
            self.databases.append(name)
        return urlunsplit(urlsplit(self.server_dsn)._replace(path=f"/{name}"))

    def env(self, dsn: str, **extra: str) -> dict[str, str]:
        """Environment of a service process on one of this run's databases."""
        env = {k: v for k, v in os.environ.items() if k != "WISPGATE_ADMIN_TOKEN"}
        env.update(
            DATABASE_URL=dsn,
            NATS_URL=self.nats_url,
            WISPGATE_NAMESPACE=self.namespace,
            WISPGATE_ENV="development",  # as `make run` starts them
            PYTHONUNBUFFERED="1",
            **extra,
        )
        return env

    def setup(self, dsn: str, logs: Path) -> None:
        """Create and migrate the database and the stream, as `make setup` does."""
        for command in SETUP_COMMANDS:
            with (logs / "setup.log").open("ab") as out:
                subprocess.run(
                    command, env=self.env(dsn), cwd=ROOT, check=True, stdout=out, stderr=out
                )

    async def drop(self) -> None:
        """Drop every database of the run and the namespace's streams; never raises."""
        admin = urlunsplit(urlsplit(self.server_dsn)._replace(path="/postgres"))
        for name in self.databases:
            try:
                conn = await asyncpg.connect(admin)
                try:
                    await conn.execute(f'drop database if exists "{name}" with (force)')
                finally:
                    await conn.close()
            except Exception:
                log.exception("could not drop database %s", name)
        try:
            client = await nats.connect(self.nats_url, connect_timeout=2)
            try:
                for stream in (events_stream(self.namespace), imports_stream(self.namespace)):
                    try:
                        await client.jetstream().delete_stream(stream)
                    except nats.js.errors.NotFoundError:
                        pass
            finally:
                await client.close()
        except Exception:
            log.exception("could not delete the streams of namespace %s", self.namespace)


class Processes:
    """Service processes of one database; output to log files; stopped by their own pids."""

    def __init__(self, env: dict[str, str], logs: Path, memory: object | None = None) -> None:
        self.env = env
        self.logs = logs
        self.memory = memory
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, **extra_env: str) -> subprocess.Popen[bytes]:
        """Start one process by name (see SERVICE_COMMANDS)."""
        out = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            SERVICE_COMMANDS[name],
            env={**self.env, **extra_env},
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        out.close()
        self.running[name] = process
        if self.memory is not None:
            self.memory.watch(name, process.pid)  # type: ignore[attr-defined]
        return process

    def stop(self, name: str) -> None:
        """SIGTERM, then SIGKILL after 15 s."""
        process = self.running.pop(name, None)
        if process is None:
            return
        if self.memory is not None:
            self.memory.forget(name)  # type: ignore[attr-defined]
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop_all(self) -> None:
        for name in list(self.running):
            self.stop(name)

    def check(self) -> None:
        """Raise if any process has exited."""
        for name, process in self.running.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited ({process.returncode}): {self.tail(name)}")

    async def wait_http(self, url: str, deadline_seconds: float = 60) -> None:
        """Until `url` answers 200 (the processes being alive meanwhile)."""
        deadline = time.monotonic() + deadline_seconds
        async with httpx.AsyncClient(timeout=1) as client:
            while time.monotonic() < deadline:
                self.check()
                try:
                    if (await client.get(url)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise TimeoutError(f"{url} did not answer 200: {self.tail('api')}")

    async def wait_log(self, name: str, text: str, deadline_seconds: float = 60) -> None:
        """Until the process's log holds `text` (a worker with no HTTP port says it is ready)."""
        path = self.logs / f"{name}.log"
        deadline = time.monotonic() + deadline_seconds
        while time.monotonic() < deadline:
            self.check()
            if path.exists() and text in path.read_text(errors="replace"):
                return
            await asyncio.sleep(0.1)
        raise TimeoutError(f"{name} did not log {text!r}: {self.tail(name)}")

    def tail(self, name: str, lines: int = 20) -> str:
        path = self.logs / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


async def admin_token(dsn: str, tenant_id: str) -> str:
    """A fresh admin token of the tenant, made with the project's own token code."""
    pool = await create_pool(dsn, "wispgate-tests", 1)
    try:
        token, _ = await tokens.create(pool, "bench", tenant_id, "admin")
        return token
    finally:
        await pool.close()
