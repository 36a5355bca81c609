"""Peak resident memory (RSS) and CPU time of every process of a scenario, read from /proc.

Long-lived processes have their kernel peak (VmHWM) reset at a scenario's start (writing 5 to
/proc/<pid>/clear_refs) and read at its end; short-lived ones (wrk, a rebuild) are sampled every
50 ms while they run. The figure kept is the larger of the two. CPU seconds (user + system) are
the difference between the first and the last reading of each process within the scenario.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SAMPLE_SECONDS = 0.05
TICKS = os.sysconf("SC_CLK_TCK")
BENCH = "bench (client)"


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


def reset_peak(pid: int) -> bool:
    """Start the process's VmHWM afresh from its current RSS; False when not permitted."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class Memory:
    """Watches named processes; `scenario()` yields the peak RSS of each, in MiB."""

    def __init__(self) -> None:
        self._pids: dict[str, int] = {BENCH: os.getpid()}
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
                peaks.update({k: round(v / 1024, 1) for k, v in sorted(self._peaks.items())})
                self.cpu_seconds = {}
                for label, first, last in self._cpu.values():
                    spent = self.cpu_seconds.get(label, 0) + last - first
                    self.cpu_seconds[label] = round(spent, 2)
            busy_after = _machine_busy()
            self.machine_busy_cores = round((busy_after - busy) / (time.monotonic() - started), 2)

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            with self._lock:
                for label, pid in list(self._pids.items()):
                    self._record(label, pid)

    def _record(self, label: str, pid: int, hwm: bool = False, seed: bool = False) -> None:
        kib = status_kib(pid, "VmHWM" if hwm else "VmRSS")
        if kib is not None:
            self._peaks[label] = max(self._peaks.get(label, 0), kib)
        cpu = _cpu_seconds(pid)
        if cpu is not None:
            # A process first seen mid-scenario started within it: its CPU counts from 0.
            first = self._cpu[pid][1] if pid in self._cpu else (cpu if seed else 0.0)
            self._cpu[pid] = (label, first, cpu)
