"""/readyz answers 503 while PostgreSQL or NATS is away and recovers by itself."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from tests.e2e.conftest import System, free_port
from tests.e2e.proxy import Proxy


def _via(url: str, proxy: Proxy) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


@pytest.fixture
def proxied_api(system: System, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """An API process reaching PostgreSQL and NATS only through proxies the test controls."""
    db, nats_url = urlsplit(system.env["DATABASE_URL"]), urlsplit(system.env["NATS_URL"])
    pg = Proxy(db.hostname or "127.0.0.1", db.port or 5432)
    nc = Proxy(nats_url.hostname or "127.0.0.1", nats_url.port or 4222)
    env = {
        **system.env,
        "DATABASE_URL": _via(system.env["DATABASE_URL"], pg),
        "NATS_URL": _via(system.env["NATS_URL"], nc),
        "API_PORT": str(free_port()),
    }
    api = System(env, tmp_path_factory.mktemp("proxied"))
    api.start("api")
    try:
        api.wait_ready()
        yield api, pg, nc
    finally:
        api.stop_all()
        pg.close()
        nc.close()


def _await_status(api: System, status: int, deadline: float = 20) -> httpx.Response:
    end = time.monotonic() + deadline
    while True:
        try:
            response = httpx.get(f"{api.base_url}/readyz", timeout=5)
            if response.status_code == status:
                return response
        except httpx.HTTPError:
            pass
        assert time.monotonic() < end, f"/readyz never answered {status}"
        time.sleep(0.2)


@pytest.mark.parametrize("away", ["postgres", "nats"])
def test_readyz_follows_its_servers(proxied_api: tuple, away: str) -> None:
    api, pg, nc = proxied_api
    proxy = pg if away == "postgres" else nc
    proxy.cut()
    down = _await_status(api, 503)
    assert down.headers["content-type"] == "application/problem+json"
    assert away in down.json()["detail"]
    proxy.restore()
    _await_status(api, 200)
