"""The tokens CLI: create, list and revoke, and what the API makes of the result."""

from __future__ import annotations

import asyncio
import re
import sys

import httpx

from services.subscription.app import create_app
from services.subscription.config import Settings
from tests.conftest import ROOT, tenant


async def _cli(env: dict[str, str], *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.subscription", "tokens", *args,
        env=env, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await process.communicate()
    return process.returncode or 0, out.decode()


async def _status(settings: Settings, token: str, method: str, path: str) -> int:
    app = create_app(settings)  # a fresh process-like app: no token cache carried over
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            headers = {"Authorization": f"Bearer {token}"}
            body = {"name": "x"} if method == "POST" else None
            response = await client.request(method, path, headers=headers, json=body)
            return response.status_code


async def test_create_list_revoke(service_env: dict[str, str], settings: Settings) -> None:
    acme = tenant()
    code, out = await _cli(
        service_env, "create", "--name", "Billing sync", "--tenant", acme, "--role", "read"
    )
    assert code == 0, out
    token = re.search(r"token:\s+(\S+)", out).group(1)  # type: ignore[union-attr]
    token_id = re.search(r"id:\s+(\S+)", out).group(1)  # type: ignore[union-attr]

    assert await _status(settings, token, "GET", "/api/v1/contacts") == 200
    assert await _status(settings, token, "POST", "/api/v1/contacts") == 403

    code, listing = await _cli(service_env, "list", "--tenant", acme)
    assert code == 0 and "Billing sync" in listing and token not in listing

    code, out = await _cli(service_env, "revoke", token_id)
    assert code == 0, out
    assert await _status(settings, token, "GET", "/api/v1/contacts") == 401
    code, _ = await _cli(service_env, "revoke", token_id)
    assert code == 1


async def test_bad_arguments_are_refused(service_env: dict[str, str]) -> None:
    code, out = await _cli(service_env, "create", "--name", "x", "--role", "root")
    assert code != 0 and "role" in out
    code, out = await _cli(service_env, "create", "--name", "x", "--tenant", "Bad Tenant!")
    assert code != 0 and "tenant" in out
