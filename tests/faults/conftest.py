"""The fault suite's world: private servers it may break, and every process running on them.

Run by `make faults` (`pytest -m faults tests/faults -s`); left out of a run that neither names
`tests/faults` nor selects the `faults` marker, so `make test` does not start it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.conftest import environment
from tests.faults.servers import NatsCluster, PrivatePostgres, free_port
from tests.faults.system import Processes
from tests.faults.world import NAMESPACE, World, report
from tests.helpers import open_pool

HERE = Path(__file__).parent

# Short enough that the suite's one import resumes within seconds when its attempt was cut by
# a fault; every recovery setting of the services keeps its default.
SERVICE_ENV = {
    "IMPORTER_BATCH_ROWS": "100",
    "IMPORTER_LEASE_SECONDS": "5",
    "IMPORTER_POLL_INTERVAL": "1",
    "PYTHONUNBUFFERED": "1",
    "WISPGATE_STREAM_REPLICAS": "3",
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "faults: stops and kills its own PostgreSQL and NATS cluster (make faults)"
    )


def _asked_for(config: pytest.Config) -> bool:
    if "faults" in (config.option.markexpr or ""):
        return True
    for arg in config.args:
        path = Path(arg.split("::")[0])
        path = path if path.is_absolute() else Path(config.invocation_params.dir) / path
        if path.resolve().is_relative_to(HERE):
            return True
    return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _asked_for(config):
        return
    left_out = [item for item in items if item.get_closest_marker("faults")]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not item.get_closest_marker("faults")]


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    """A private PostgreSQL and three-node NATS cluster with every process running on them."""
    logs = tmp_path_factory.mktemp("fault-logs")
    report(f"logs of the servers and processes: {logs}")
    pg, cluster = PrivatePostgres(logs), NatsCluster(logs)
    processes: Processes | None = None
    try:
        pg.init()
        pg.start()
        cluster.start()
        report(f"PostgreSQL on port {pg.port}; NATS cluster {cluster.url}")
        env = environment(pg.dsn("wispgate"), cluster.url, NAMESPACE)
        env |= SERVICE_ENV | {"API_PORT": str(free_port())}
        env.pop("WISPGATE_ADMIN_TOKEN", None)
        processes = Processes(env, logs)
        processes.setup(WISPGATE_STREAM_REPLICAS="1")  # as a single-server install begins
        for name in ("api", "relay", "commands", "projections", "importer"):
            processes.start(name)
        processes.wait_ready()
        async with open_pool(pg.dsn("wispgate"), 4) as pool:
            world = World(pg, cluster, processes, pool, logs)
            try:
                yield world
            finally:
                world.summary()
    finally:
        if processes is not None:
            processes.stop_all()
        cluster.close()
        pg.close()


@pytest.fixture(autouse=True)
def servers_back(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each fault, every server is up again, even when the test failed halfway."""
    yield
    if "world" not in request.fixturenames:
        return
    world: World = request.getfixturevalue("world")
    if not world.pg.running():
        world.pg.start()
    world.cluster.restore()
