"""The development token works in development only."""

from __future__ import annotations

import httpx
import pytest

from services.subscription.app import create_app
from services.subscription.config import Settings


@pytest.mark.parametrize(
    ("env", "expected"), [("development", 200), ("test", 401), ("production", 401)]
)
async def test_dev_token_only_in_development(settings: Settings, env: str, expected: int) -> None:
    configured = Settings(
        database_url=settings.database_url,
        nats_url=settings.nats_url,
        namespace=settings.namespace,
        env=env,
        admin_token="dev-token",
    )
    app = create_app(configured)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get(
                "/api/v1/contacts", headers={"Authorization": "Bearer dev-token"}
            )
            assert response.status_code == expected
            metrics = await client.get("/metrics")
            assert metrics.status_code == (200 if env == "development" else 401)
