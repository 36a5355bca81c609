"""Figures of a run: each beside its yardstick and goal; printed as a table, saved as JSON."""

from __future__ import annotations

import json
import operator
import os
import platform
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .memory import PG_PREFIX as PG
from .memory import PG_SHARED

COMPARE = {">=": operator.ge, "<=": operator.le}


@dataclass
class Figure:
    """One measured figure; `goal` is (">=" or "<=", bound) when the issue sets one."""

    name: str
    value: float
    unit: str
    yardstick: str = ""
    goal: tuple[str, float] | None = None

    @property
    def met(self) -> bool | None:
        if self.goal is None:
            return None
        op, bound = self.goal
        return bool(COMPARE[op](self.value, bound))

    @property
    def verdict(self) -> str:
        return {None: "", True: "met", False: "MISSED"}[self.met]

    @property
    def goal_text(self) -> str:
        return f"{self.goal[0]} {_number(self.goal[1])} {self.unit}" if self.goal else ""

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "met": self.met}


@dataclass
class Scenario:
    """A scenario's figures, peak RSS per process (MiB), details and notes."""

    name: str
    figures: list[Figure] = field(default_factory=list)
    rss_mib: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    machine_busy_cores: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None

    def add(self, *figures: Figure) -> None:
        self.figures.extend(figures)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "seconds": round(self.seconds, 1),
            "error": self.error,
            "figures": [f.as_dict() for f in self.figures],
            "rss_mib": self.rss_mib,
            "cpu_seconds": self.cpu_seconds,
            "machine_busy_cores": self.machine_busy_cores,
            "details": self.details,
            "notes": self.notes,
        }


@dataclass
class Run:
    size: str
    started: datetime
    scenarios: list[Scenario] = field(default_factory=list)
    seconds: float = 0.0
    namespace: str = ""
    databases: list[str] = field(default_factory=list)

    def machine(self) -> dict[str, Any]:
        return {
            "cores": os.cpu_count(),
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
            "platform": platform.platform(),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "started": self.started.isoformat(),
            "seconds": round(self.seconds, 1),
            "namespace": self.namespace,
            "databases": self.databases,
            "machine": self.machine(),
            "scenarios": [s.as_dict() for s in self.scenarios],
        }

    def save(self, folder: Path) -> Path:
        """bench/results/<UTC timestamp>.json (or another folder)."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.started:%Y%m%dT%H%M%SZ}-{self.size}.json"
        path.write_text(json.dumps(self.as_dict(), indent=2, default=str) + "\n")
        return path

    def rows(self) -> list[list[str]]:
        rows = []
        for s in self.scenarios:
            if s.error:
                rows.append([s.name, "FAILED", s.error[:60], "", "", ""])
            for f in s.figures:
                rows.append(
                    [s.name, f.name, f"{_number(f.value)} {f.unit}", f.yardstick, f.goal_text,
                     f.verdict]
                )  # fmt: skip
            if s.rss_mib:
                peaks = ", ".join(f"{k} {v:.0f}" for k, v in s.rss_mib.items())
                rows.append([s.name, "peak RSS (MiB)", peaks, "", "", ""])
            if s.cpu_seconds:
                busy = f"machine busy {s.machine_busy_cores:.2f} of {os.cpu_count()} cores"
                rows.append([s.name, "CPU seconds", _cpu_text(s.cpu_seconds), busy, "", ""])
        return rows

    def table(self) -> str:
        """The plain-text table printed at the end of a run."""
        header = ["scenario", "figure", "value", "yardstick (same run)", "goal", ""]
        rows = [header, *self.rows()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(line.rstrip() for line in lines)

    def markdown(self) -> str:
        """The same table in Markdown, for bench/RESULTS.md."""
        header = ["scenario", "figure", "value", "yardstick (same run)", "goal", ""]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in self.rows()]
        return "\n".join(lines)


def _cpu_text(cpu_seconds: dict[str, float]) -> str:
    """Processes' CPU seconds; PostgreSQL's backends summed, by client in parentheses."""
    shown = [f"{k} {v:.1f}" for k, v in cpu_seconds.items() if v >= 0.05 and not k.startswith(PG)]
    backends = {
        k[len(PG) : -1]: v for k, v in cpu_seconds.items() if k.startswith(PG) and k != PG_SHARED
    }
    if backends:
        clients = ", ".join(f"{k} {v:.1f}" for k, v in backends.items() if v >= 0.05)
        shown.append(f"postgres {sum(backends.values()):.1f}" + (f" ({clients})" * bool(clients)))
    if PG_SHARED in cpu_seconds:
        shown.append(f"{PG_SHARED} {cpu_seconds[PG_SHARED]:.1f}")
    return ", ".join(shown)


def _number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"
