"""Settings of the projection workers, from the environment, with local defaults."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, NatsDsn, PostgresDsn
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    database_url: PostgresDsn = Field(
        PostgresDsn("postgresql://postgres@127.0.0.1:5432/wispgate"), alias="DATABASE_URL"
    )
    nats_url: NatsDsn = Field(NatsDsn("nats://127.0.0.1:4222"), alias="NATS_URL")
    namespace: str = Field(
        "wispgate", alias="WISPGATE_NAMESPACE", pattern=r"^[a-z][a-z0-9_]{0,31}$"
    )
    # A message, or an event retried by the projection itself, goes to the dead-letter subject
    # on this attempt instead of being retried again.
    max_deliveries: int = Field(5, alias="PROJECTIONS_MAX_DELIVERIES", ge=1, le=100)
    # First retry delay in seconds; it doubles with every further attempt, up to retry_max_delay.
    retry_delay: float = Field(1.0, alias="PROJECTIONS_RETRY_DELAY", gt=0)
    retry_max_delay: float = Field(60.0, alias="PROJECTIONS_RETRY_MAX_DELAY", gt=0)
    batch_size: int = Field(5000, alias="PROJECTIONS_BATCH_SIZE", ge=1)
    poll_interval: float = Field(1.0, alias="PROJECTIONS_POLL_INTERVAL", gt=0)
    # How long the broker waits for an ack before redelivering; handlers signal progress sooner.
    ack_wait: float = Field(30.0, alias="PROJECTIONS_ACK_WAIT", gt=1)
    metrics_port: int | None = Field(None, alias="PROJECTIONS_METRICS_PORT")
    # One connection per projection applying at once, plus the next batch being read.
    pool_size: int = Field(8, alias="PROJECTIONS_DB_POOL_SIZE", ge=2)
    log_level: str = Field("INFO", alias="LOG_LEVEL")

    @property
    def dsn(self) -> str:
        """The PostgreSQL DSN as a plain string, as asyncpg wants it."""
        return str(self.database_url)


@lru_cache
def get_settings() -> Settings:
    """Settings read once per process."""
    return Settings()
