"""Settings of the projection workers, from the environment, with local defaults."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field

from plumbing.settings import ServiceSettings

MIGRATIONS = Path(__file__).with_name("migrations")


class Settings(ServiceSettings):
    # A wake-up message whose pass kept failing (the database away) is acked on this delivery.
    # Events are not counted against it: see failures.py for when one is dead-lettered.
    max_deliveries: int = Field(5, alias="PROJECTIONS_MAX_DELIVERIES", ge=1, le=100)
    # First retry delay in seconds; it doubles with every further attempt, up to retry_max_delay.
    retry_delay: float = Field(1.0, alias="PROJECTIONS_RETRY_DELAY", gt=0)
    retry_max_delay: float = Field(60.0, alias="PROJECTIONS_RETRY_MAX_DELAY", gt=0)
    batch_size: int = Field(5000, alias="PROJECTIONS_BATCH_SIZE", ge=1)
    poll_interval: float = Field(1.0, alias="PROJECTIONS_POLL_INTERVAL", gt=0)
    # How long the broker waits for an ack before redelivering; long passes report progress.
    ack_wait: float = Field(30.0, alias="PROJECTIONS_ACK_WAIT", gt=1)
    metrics_port: int | None = Field(None, alias="PROJECTIONS_METRICS_PORT")
    # One connection per projection applying at once, plus the next batch being read.
    pool_size: int = Field(8, alias="PROJECTIONS_DB_POOL_SIZE", ge=2)


@lru_cache
def get_settings() -> Settings:
    """Settings read once per process."""
    return Settings()
