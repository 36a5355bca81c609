"""Peak resident memory (RSS) and CPU time of every process of a scenario, read from /proc.

Long-lived processes have their kernel peak (VmHWM) reset at a scenario's start (writing 5 to
/proc/<pid>/clear_refs) and read at its end; short-lived ones (wrk, a rebuild) are sampled every
50 ms while they run. The figure kept is the larger of the two. CPU seconds (user + system) are
the difference between the first and the last reading of each process within the scenario (a
process first seen mid-scenario counts from 0; one that exits keeps its last reading, at most
50 ms old).

PostgreSQL's processes are counted too (CPU only: the server is shared, its memory is not
attributed): every child of the local postmaster is looked at every 50 ms. A backend whose
command line names one of the run's databases (`postgres: 15/main: postgres <db>
127.0.0.1(<port>) ...`) is labelled by the watched process that holds the other end of its
connection (the client's port in /proc/net/tcp, the socket's inode among the process's open
files): "postgres (api)", "postgres (relay)", ...; "postgres (autovacuum)" for autovacuum
workers on those databases, "postgres (unattributed)" when no watched process holds the socket.
A parallel worker counts for its leader. The server's own processes (postmaster, checkpointer,
background writer, WAL writer, launchers) are "postgres (shared)": they serve every database
on the server, other users' too. Backends of other databases are ignored.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

SAMPLE_SECONDS = 0.05
TICKS = os.sysconf("SC_CLK_TCK")
BENCH = "bench (client)"
PG_SHARED = "postgres (shared)"
PG_AUTOVACUUM = "postgres (autovacuum)"
PG_UNATTRIBUTED = "postgres (unattributed)"
PG_PREFIX = "postgres ("
# Command-line titles of the server's own processes (PostgreSQL 13-17).
PG_SERVER_TITLES = (
    "checkpointer", "background writer", "walwriter", "autovacuum launcher",
    "logical replication launcher", "archiver", "stats collector", "startup",
)  # fmt: skip
CLIENT_PORT = re.compile(r"\((\d+)\)$")
PARALLEL = re.compile(r"parallel worker for PID (\d+)")


def status_kib(pid: int, field: str) -> int | None:
    """A memory field of /proc/<pid>/status in KiB: VmRSS (now) or VmHWM (peak since reset)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS
    except (OSError, ValueError, IndexError):
        return None


def _machine_busy() -> float:
    """Busy CPU seconds of the whole machine since boot (every process), from /proc/stat."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]
    return (sum(ticks) - idle) / TICKS


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except (OSError, UnicodeDecodeError):
        return ""


def postmasters() -> list[int]:
    """Pids of the machine's PostgreSQL servers (the postmaster: a `postgres` process whose
    command line is its binary's, not a `postgres: ...` title)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
        except OSError:
            continue
        line = _cmdline(int(entry.name))
        if line and not line.startswith("postgres:"):
            found.append(int(entry.name))
    return found


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):
        return []


def _socket_inodes(port: int) -> set[str]:
    """Inodes of the local TCP sockets bound to `port` (the client end of a connection)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def _holder(inodes: set[str], processes: Iterable[tuple[str, int]]) -> str | None:
    """The label of the process that has one of these sockets open."""
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for label, pid in processes:
        try:
            for fd in os.scandir(f"/proc/{pid}/fd"):
                try:
                    if os.readlink(fd.path) in wanted:
                        return label
                except OSError:
                    continue
        except OSError:
            continue
    return None


class PostgresProcesses:
    """Labels the local PostgreSQL server's processes that serve the run's databases."""

    def __init__(self, databases: Callable[[], Iterable[str]]) -> None:
        self._databases = databases
        self._servers: list[int] | None = None
        self._labels: dict[int, str | None] = {}  # pid: label, None when not ours

    def processes(self, clients: dict[str, int]) -> list[tuple[str, int]]:
        """(label, pid) of every server process counted now; `clients` are the watched ones."""
        if self._servers is None or not all(Path(f"/proc/{p}").exists() for p in self._servers):
            self._servers = postmasters()
        databases = set(self._databases())
        children = {pid for server in self._servers for pid in _children(server)}
        self._labels = {pid: label for pid, label in self._labels.items() if pid in children}
        new = sorted(children - set(self._labels))
        parallel = {}
        for pid in new:
            title = _cmdline(pid)
            if match := PARALLEL.search(title):
                parallel[pid] = int(match.group(1))
            else:
                self._labels[pid] = _label(title, databases, clients)
        for pid, leader in parallel.items():
            self._labels[pid] = self._labels.get(leader)
        found = [(PG_SHARED, server) for server in self._servers]
        return found + [(label, pid) for pid, label in self._labels.items() if label]


def _label(title: str, databases: set[str], clients: dict[str, int]) -> str | None:
    words = title.split()
    if not any(word in databases for word in words):
        server = title.split(": ")[-1].strip()
        return PG_SHARED if server in PG_SERVER_TITLES else None
    if "autovacuum worker" in title:
        return PG_AUTOVACUUM
    port = next((m for w in words if (m := CLIENT_PORT.search(w))), None)
    if port is None:
        return PG_UNATTRIBUTED
    holder = _holder(_socket_inodes(int(port.group(1))), clients.items())
    if holder is None:
        return PG_UNATTRIBUTED
    return f"postgres ({'bench client' if holder == BENCH else holder})"


def reset_peak(pid: int) -> bool:
    """Start the process's VmHWM afresh from its current RSS; False when not permitted."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class Memory:
    """Watches named processes; `scenario()` yields the peak RSS of each, in MiB.

    With `databases` (the names of the run's databases, asked at every sample), the PostgreSQL
    processes serving them are counted in CPU seconds too (see PostgresProcesses).
    """

    def __init__(self, databases: Callable[[], Iterable[str]] | None = None) -> None:
        self._pids: dict[str, int] = {BENCH: os.getpid()}
        self._postgres = PostgresProcesses(databases) if databases is not None else None
        self._peaks: dict[str, int] = {}
        self._cpu: dict[int, tuple[str, float, float]] = {}  # pid: (label, first, last)
        self.cpu_seconds: dict[str, float] = {}  # of the last scenario
        self.machine_busy_cores = 0.0  # of the last scenario: every process on the machine
        self._reset: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, label: str, pid: int) -> None:
        """Include a process from now on (short-lived ones are sampled)."""
        with self._lock:
            self._pids[label] = pid

    def forget(self, label: str) -> None:
        """Stop watching a process (keeping its peak so far)."""
        with self._lock:
            pid = self._pids.pop(label, None)
            if pid is not None:
                self._record(label, pid, hwm=pid in self._reset)

    @contextmanager
    def scenario(self) -> Iterator[dict[str, float]]:
        """Peaks of the block, filled in when it ends: {label: MiB}."""
        peaks: dict[str, float] = {}
        with self._lock:
            self._peaks, self._cpu = {}, {}
            self._reset = {pid for pid in self._pids.values() if reset_peak(pid)}
            for label, pid in self._pids.items():
                self._record(label, pid, seed=True)
            self._record_postgres(seed=True)
        busy = _machine_busy()
        started = time.monotonic()
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        try:
            yield peaks
        finally:
            self._stop.set()
            self._thread.join()
            with self._lock:
                for label, pid in self._pids.items():
                    self._record(label, pid, hwm=pid in self._reset)
                self._record_postgres()
                peaks.update({k: round(v / 1024, 1) for k, v in sorted(self._peaks.items())})
                self.cpu_seconds = {}
                for label, first, last in self._cpu.values():
                    spent = self.cpu_seconds.get(label, 0) + last - first
                    self.cpu_seconds[label] = round(spent, 2)
            busy_after = _machine_busy()
            self.machine_busy_cores = round((busy_after - busy) / (time.monotonic() - started), 2)

    @contextmanager
    def cpu_window(self) -> Iterator[dict[str, float]]:
        """CPU seconds per label spent within the block (inside `scenario()`), filled in when
        it ends; PostgreSQL's processes included. Processes first seen within it count from 0."""
        spent: dict[str, float] = {}
        start = self._cpu_now()
        try:
            yield spent
        finally:
            for pid, (label, cpu) in self._cpu_now().items():
                before = start[pid][1] if pid in start else 0.0
                spent[label] = spent.get(label, 0.0) + cpu - before
            for label in spent:
                spent[label] = round(spent[label], 3)

    def _cpu_now(self) -> dict[int, tuple[str, float]]:
        """A fresh reading of every process counted so far: {pid: (label, CPU seconds)}."""
        with self._lock:
            for label, pid in self._pids.items():
                self._record(label, pid)
            self._record_postgres()
            return {pid: (label, last) for pid, (label, _, last) in self._cpu.items()}

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            with self._lock:
                for label, pid in list(self._pids.items()):
                    self._record(label, pid)
                self._record_postgres()

    def _record_postgres(self, seed: bool = False) -> None:
        if self._postgres is None:
            return
        for label, pid in self._postgres.processes(self._pids):
            cpu = _cpu_seconds(pid)
            if cpu is not None:
                first = self._cpu[pid][1] if pid in self._cpu else (cpu if seed else 0.0)
                self._cpu[pid] = (label, first, cpu)

    def _record(self, label: str, pid: int, hwm: bool = False, seed: bool = False) -> None:
        kib = status_kib(pid, "VmHWM" if hwm else "VmRSS")
        if kib is not None:
            self._peaks[label] = max(self._peaks.get(label, 0), kib)
        cpu = _cpu_seconds(pid)
        if cpu is not None:
            # A process first seen mid-scenario started within it: its CPU counts from 0.
            first = self._cpu[pid][1] if pid in self._cpu else (cpu if seed else 0.0)
            self._cpu[pid] = (label, first, cpu)
