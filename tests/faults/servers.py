"""Servers of the fault suite's own, so it may break them: a PostgreSQL and a NATS cluster.

PostgreSQL is the machine's own binaries (initdb, pg_ctl) on a free port in a temporary
directory; as root they run as the `postgres` user (initdb refuses root). The NATS cluster is
three `nats-server` processes with JetStream, cluster routes to each other and a store directory
each. Nothing here touches the machine's shared servers, and `close` leaves nothing running.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import nats

CLUSTER = "faults"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _postgres_bin() -> Path:
    """The newest PostgreSQL binaries of the machine (Debian keeps them per version)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3])
    )
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl is None:
        raise RuntimeError("no PostgreSQL binaries (pg_ctl, initdb) on this machine")
    return Path(pg_ctl).parent


class PrivatePostgres:
    """One PostgreSQL server in a temporary directory, started and stopped with pg_ctl."""

    def __init__(self, logs: Path) -> None:
        self.bin = _postgres_bin()
        self.root = Path(tempfile.mkdtemp(prefix="wispgate-faults-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.log = self.root / "postgres.log"  # written by the server's owner; copied to `logs`
        self.logs = logs
        # initdb refuses to run as root: the server then belongs to `postgres`, as on Debian.
        self.as_owner: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            self.as_owner = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str, timeout: float = 120) -> None:
        subprocess.run([*self.as_owner, *args], check=True, capture_output=True, timeout=timeout)

    def init(self) -> None:
        """Create the cluster (trust authentication on 127.0.0.1 only)."""
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        # fsync off: a stop, even an immediate one, is a crash of the server, not of the
        # machine, so the operating system still holds every committed page.
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c max_connections=200"
        )
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options,
            "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: `fast` (clients disconnected, a clean checkpoint) or `immediate`
        (a crash: recovery replays the WAL at the next start)."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def close(self) -> None:
        """Stop the server whatever state it is in, and remove its directory."""
        pid_file = self.data / "postmaster.pid"
        if pid_file.exists():
            try:
                self.stop("immediate")
            except Exception:
                pid = int(pid_file.read_text().split()[0])
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.log.exists():
            shutil.copy(self.log, self.logs / "postgres.log")
        shutil.rmtree(self.root, ignore_errors=True)


class NatsNode:
    """One `nats-server` of the cluster: its ports, configuration, store and process."""

    def __init__(
        self, name: str, root: Path, logs: Path, client: int, route: int, monitor: int
    ) -> None:
        self.name, self.client, self.route, self.monitor = name, client, route, monitor
        self.conf = root / f"{name}.conf"
        self.store = root / f"{name}-store"
        self.log = logs / f"nats-{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.paused = False

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.client}"

    def write_conf(self, routes: list[int]) -> None:
        listed = ", ".join(f"nats-route://127.0.0.1:{port}" for port in routes)
        self.conf.write_text(
            f"server_name: {self.name}\n"
            f"listen: 127.0.0.1:{self.client}\n"
            f"http: 127.0.0.1:{self.monitor}\n"
            f'jetstream {{ store_dir: "{self.store}" }}\n'
            f"cluster {{ name: {CLUSTER}, listen: 127.0.0.1:{self.route}, routes: [{listed}] }}\n"
        )

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                ["nats-server", "-c", str(self.conf)], stdout=out, stderr=subprocess.STDOUT
            )
        self.paused = False

    def signal(self, sig: int) -> None:
        assert self.process is not None, f"{self.name} is not running"
        self.process.send_signal(sig)
        self.paused = sig == signal.SIGSTOP

    def kill(self) -> None:
        """SIGKILL, as a machine losing power would leave it."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        self.process, self.paused = None, False

    def healthy(self) -> bool:
        """The server answers and its JetStream is current with the cluster."""
        try:
            return httpx.get(f"http://127.0.0.1:{self.monitor}/healthz", timeout=1).is_success
        except httpx.HTTPError:
            return False

    def connections(self) -> list[str]:
        """Names of the clients connected to this node."""
        response = httpx.get(f"http://127.0.0.1:{self.monitor}/connz?limit=1024", timeout=2)
        return [c.get("name", "") for c in response.json().get("connections") or []]


class NatsCluster:
    """Three JetStream servers routed to each other."""

    def __init__(self, logs: Path, size: int = 3) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="wispgate-faults-nats-"))
        self.nodes = [
            NatsNode(f"n{i}", self.root, logs, free_port(), free_port(), free_port())
            for i in range(size)
        ]
        routes = [node.route for node in self.nodes]
        for node in self.nodes:
            node.write_conf(routes)

    @property
    def url(self) -> str:
        """NATS_URL naming every node."""
        return ",".join(node.url for node in self.nodes)

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        self.wait_healthy()

    def restore(self) -> None:
        """Every node running and not frozen (after a test that failed mid-fault)."""
        for node in self.nodes:
            if node.paused:
                node.signal(signal.SIGCONT)
            if node.process is None:
                node.start()
        self.wait_healthy()

    def node(self, name: str) -> NatsNode:
        return next(node for node in self.nodes if node.name == name)

    def wait_healthy(self, nodes: list[NatsNode] | None = None, within: float = 60) -> None:
        """Until each node (every one by default) reports JetStream healthy."""
        deadline = time.monotonic() + within
        for node in nodes or self.nodes:
            while not node.healthy():
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"NATS {node.name} not healthy: {node.log.read_text()[-2000:]}"
                    )
                time.sleep(0.2)

    async def leader(self, stream: str, within: float = 30) -> NatsNode:
        """The node leading a stream's replicas (waiting out an election)."""
        deadline = time.monotonic() + within
        while True:
            try:
                info = await self.stream_info(stream)
                if info.cluster is not None and info.cluster.leader:
                    return self.node(info.cluster.leader)
            except Exception:
                if time.monotonic() > deadline:
                    raise
            if time.monotonic() > deadline:
                raise TimeoutError(f"stream {stream} has no leader")
            await asyncio.sleep(0.2)

    async def stream_info(self, stream: str):  # type: ignore[no-untyped-def]
        nc = await self.connect()
        try:
            return await nc.jetstream(timeout=5).stream_info(stream)
        finally:
            await nc.close()

    async def consumer_info(self, stream: str, durable: str):  # type: ignore[no-untyped-def]
        nc = await self.connect()
        try:
            return await nc.jetstream(timeout=5).consumer_info(stream, durable)
        finally:
            await nc.close()

    async def connect(self) -> nats.NATS:
        """A client of the nodes that are up and not paused."""
        up = [node.url for node in self.nodes if node.process is not None and not node.paused]
        return await nats.connect(servers=up, connect_timeout=2, max_reconnect_attempts=2)

    def close(self) -> None:
        """Kill every node (a paused one too) and remove the directory."""
        for node in self.nodes:
            try:
                node.kill()
            except Exception:
                pass
        shutil.rmtree(self.root, ignore_errors=True)
