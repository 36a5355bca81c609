"""Every process of the system, as `make run` starts them, against the suite's private servers."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import ROOT

PY = sys.executable
COMMANDS = {
    "api": [PY, "-m", "services.subscription", "api"],
    "relay": [PY, "-m", "services.subscription", "relay"],
    "commands": [PY, "-m", "services.subscription", "commands"],
    "projections": [PY, "-m", "services.projections", "worker"],
    "importer": [PY, "-m", "services.importer", "worker"],
}
SETUP = [
    [PY, "-m", "services.subscription", "setup"],
    [PY, "-m", "services.projections", "setup"],
    [PY, "-m", "services.importer", "setup"],
]
REBUILD = [PY, "-m", "services.projections", "rebuild"]


class Processes:
    """Starts, kills and restarts the service processes; each one's output goes to its log."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.base_url = f"http://127.0.0.1:{env['API_PORT']}"

    def setup(self, **extra: str) -> None:
        """Database, migrations and streams, as `make setup` does (with `extra` settings)."""
        for command in SETUP:
            with (self.logs / "setup.log").open("ab") as out:
                done = subprocess.run(
                    command, env={**self.env, **extra}, cwd=ROOT, stdout=out, stderr=out,
                    timeout=120,
                )  # fmt: skip
            if done.returncode != 0:
                raise RuntimeError(f"{command} exited {done.returncode}: {self.tail('setup')}")

    def rebuild(self) -> None:
        """`python -m services.projections rebuild` of every read model."""
        with (self.logs / "rebuild.log").open("ab") as out:
            done = subprocess.run(
                REBUILD, env=self.env, cwd=ROOT, stdout=out, stderr=out, timeout=300
            )
        if done.returncode != 0:
            raise RuntimeError(f"rebuild exited {done.returncode}: {self.tail('rebuild')}")

    def start(self, name: str) -> None:
        with (self.logs / f"{name}.log").open("ab") as out:
            self.running[name] = subprocess.Popen(
                COMMANDS[name], env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
            )

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.running.pop(name)
        if process.poll() is None:
            process.send_signal(sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self, name: str) -> None:
        """SIGKILL the process and start it again at once."""
        self.kill(name)
        self.start(name)

    def stop_all(self) -> None:
        for name in list(self.running):
            self.kill(name, signal.SIGTERM)

    def check(self) -> None:
        """Raise if a process exited by itself."""
        for name, process in self.running.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited ({process.returncode}): {self.tail(name)}")

    def wait_ready(self, within: float = 60) -> None:
        """Until /readyz answers 200 (every process alive meanwhile)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            self.check()
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"the API did not become ready: {self.tail('api')}")

    def tail(self, name: str, lines: int = 40) -> str:
        path = self.logs / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
