"""The settings every service reads: where PostgreSQL and NATS are, the namespace, logging.

Each service's `config.py` subclasses `ServiceSettings` with what is its own. Defaults are the
local servers of a development machine; no secret has a default outside development.
"""

from __future__ import annotations

from pydantic import Field, PostgresDsn, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from plumbing.postgres import Pool, create_pool

NAMESPACE_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    database_url: PostgresDsn = Field(
        PostgresDsn("postgresql://postgres@127.0.0.1:5432/wispgate"), alias="DATABASE_URL"
    )
    # One server, or a cluster's servers separated by commas: `nats://a:4222,nats://b:4222`.
    nats_url: str = Field("nats://127.0.0.1:4222", alias="NATS_URL")
    # Copies JetStream keeps of each stream (1 on one server; 3 on a cluster of three or more).
    # Setup applies a change to an existing stream in place, keeping its messages.
    stream_replicas: int = Field(1, alias="WISPGATE_STREAM_REPLICAS", ge=1, le=5)
    namespace: str = Field("wispgate", alias="WISPGATE_NAMESPACE", pattern=NAMESPACE_PATTERN)
    log_level: str = Field("INFO", alias="LOG_LEVEL")
    # A statement running longer is cancelled (a query planned badly must not hold a pool).
    statement_timeout: float = Field(30.0, alias="WISPGATE_DB_STATEMENT_TIMEOUT", gt=0)
    # Waiting longer than this for a pooled connection is an error (503 on the API), not a hang.
    acquire_timeout: float = Field(10.0, alias="WISPGATE_DB_ACQUIRE_TIMEOUT", gt=0)

    @field_validator("nats_url")
    @classmethod
    def _nats_servers(cls, value: str) -> str:
        servers = [s.strip() for s in value.split(",") if s.strip()]
        if not servers or not all(s.startswith(("nats://", "tls://")) for s in servers):
            raise ValueError("NATS_URL: one or more nats://host:port, separated by commas")
        return ",".join(servers)

    @property
    def dsn(self) -> str:
        """The PostgreSQL DSN as a plain string, as asyncpg wants it."""
        return str(self.database_url)

    @property
    def nats_servers(self) -> list[str]:
        """The NATS servers to connect to (a cluster's nodes, or one server)."""
        return self.nats_url.split(",")

    async def create_pool(self, application_name: str, size: int) -> Pool:
        """A pool on this service's database with its statement and acquire timeouts.

        It opens no connection up front: a process started while PostgreSQL is away (restarted
        by its supervisor during an outage) comes up, and connects once the server answers.
        """
        return await create_pool(
            self.dsn,
            application_name,
            size,
            statement_timeout=self.statement_timeout,
            acquire_timeout=self.acquire_timeout,
            min_size=0,
        )
