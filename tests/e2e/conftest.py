"""The real processes that `make run` starts, on this run's database and namespace."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Self

import asyncpg
import httpx
import pytest

from tests.conftest import ROOT, environment, fresh_database, fresh_namespace
from tests.helpers import admin_client

COMMANDS = {
    "api": [sys.executable, "-m", "services.subscription", "api"],
    "relay": [sys.executable, "-m", "services.subscription", "relay"],
    "commands": [sys.executable, "-m", "services.subscription", "commands"],
    "projections": [sys.executable, "-m", "services.projections", "worker"],
}
SETUP = [
    [sys.executable, "-m", "services.subscription", "setup"],
    [sys.executable, "-m", "services.projections", "setup"],
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class System:
    """Starts, kills and restarts the service processes; their output goes to log files."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.base_url = f"http://127.0.0.1:{env['API_PORT']}"

    @classmethod
    def running(cls, env: dict[str, str], logs: Path, names: list[str]) -> Iterator[Self]:
        """The processes `names` on an API port of their own, ready; stopped at the end."""
        env = {**env, "API_PORT": str(free_port()), "PYTHONUNBUFFERED": "1"}
        env.pop("WISPGATE_ADMIN_TOKEN", None)
        system = cls(env, logs)
        system.setup()
        try:
            for name in names:
                system.start(name)
            system.wait_ready()
            yield system
        finally:
            system.stop_all()

    def setup(self) -> None:
        for command in SETUP:
            subprocess.run(command, env=self.env, cwd=ROOT, check=True, capture_output=True)

    def start(self, name: str) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            COMMANDS[name], env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes.pop(name)
        process.send_signal(sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self, name: str, sig: int = signal.SIGKILL) -> None:
        self.kill(name, sig)
        self.start(name)

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.kill(name, signal.SIGTERM)

    def wait_ready(self, deadline_seconds: float = 30) -> None:
        deadline = time.monotonic() + deadline_seconds
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited: {self.tail(name)}")
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"the API did not become ready: {self.tail('api')}")

    def tail(self, name: str, lines: int = 30) -> str:
        path = self.logs / f"{name}.log"
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            if path.exists()
            else ""
        )


# The running processes get a database and namespace of their own, apart from the in-process
# integration tests (whose relay and projection runs would otherwise contend with them).
@pytest.fixture(scope="session")
def namespace(servers: tuple[str, str]) -> Iterator[str]:
    yield from fresh_namespace(servers)


@pytest.fixture(scope="session")
def database_url(servers: tuple[str, str], namespace: str) -> Iterator[str]:
    yield from fresh_database(servers, namespace)


@pytest.fixture(scope="session")
def service_env(database_url: str, nats_url: str, namespace: str) -> dict[str, str]:
    return environment(database_url, nats_url, namespace)


@pytest.fixture(scope="session")
def system(
    service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[System]:
    """API, relay, commands and projection worker as processes, as `make run` starts them."""
    yield from System.running(service_env, tmp_path_factory.mktemp("logs"), list(COMMANDS))


@pytest.fixture
async def http(
    system: System, pool: asyncpg.Pool, tenant_id: str
) -> AsyncIterator[httpx.AsyncClient]:
    """An admin client of the test's tenant, talking to the API process over TCP."""
    async with admin_client(system.base_url, pool, tenant_id, "e2e") as client:
        yield client
