"""Settings of the subscription service, from the environment, with local defaults."""

from __future__ import annotations

import logging
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from contracts.imports import DEV_COMMANDS_SECRET
from plumbing.settings import ServiceSettings

DEV_TOKEN = "dev-token"
MIN_SECRET_LENGTH = 32
log = logging.getLogger(__name__)


MIGRATIONS = Path(__file__).with_name("migrations")


class Settings(ServiceSettings):
    api_host: str = Field("127.0.0.1", alias="API_HOST")
    api_port: int = Field(8000, alias="API_PORT")
    env: Literal["development", "test", "production"] = Field("production", alias="WISPGATE_ENV")
    admin_token: str | None = Field(None, alias="WISPGATE_ADMIN_TOKEN")
    read_wait_seconds: float = Field(5.0, alias="WISPGATE_READ_WAIT_SECONDS", gt=0, le=60)
    max_body_bytes: int = Field(1024 * 1024, alias="WISPGATE_MAX_BODY_BYTES")
    # Only POST /api/v1/imports takes bodies this large; the importer checks the file itself.
    max_upload_bytes: int = Field(20 * 1024 * 1024, alias="WISPGATE_MAX_UPLOAD_BYTES", ge=1024)
    pool_size: int = Field(20, alias="WISPGATE_DB_POOL_SIZE", ge=2)
    stream_max_age_days: float = Field(7.0, alias="WISPGATE_STREAM_MAX_AGE_DAYS", gt=1)
    relay_batch_size: int = Field(500, alias="WISPGATE_RELAY_BATCH_SIZE", ge=1)
    # Import batches one `commands` process handles at once (each holds a pool connection).
    commands_concurrency: int = Field(4, alias="WISPGATE_COMMANDS_CONCURRENCY", ge=1, le=64)
    # LibreQoS integrations carry whole megabits; 1 is the least that still reaches the portal.
    libreqos_trickle_mbps: int = Field(1, alias="WISPGATE_LIBREQOS_SUSPENDED_MBPS", ge=1)
    # A repeated Idempotency-Key returns the first answer for this long; then it is forgotten.
    idempotency_retention_days: float = Field(
        7.0, alias="WISPGATE_IDEMPOTENCY_RETENTION_DAYS", gt=0
    )
    # The scheduler: seconds between its passes, and commands it sends at once (each holds a
    # pool connection while it runs).
    scheduler_interval_seconds: float = Field(
        60.0, alias="WISPGATE_SCHEDULER_INTERVAL_SECONDS", gt=0
    )
    scheduler_concurrency: int = Field(8, alias="WISPGATE_SCHEDULER_CONCURRENCY", ge=1, le=64)
    # Signs the admin pages' session cookie; every API replica needs the same one.
    session_secret: SecretStr | None = Field(None, alias="WISPGATE_SESSION_SECRET")
    # Authenticates the importer's command batches (the importer holds the same); the `commands`
    # process refuses to start in production with the development default.
    commands_secret: SecretStr = Field(
        SecretStr(DEV_COMMANDS_SECRET), alias="WISPGATE_COMMANDS_SECRET"
    )

    @model_validator(mode="after")
    def _dev_token_only_in_development(self) -> Settings:
        if self.env != "development":
            if self.admin_token is not None:
                # Refused, not fatal: a stray variable must not open production, nor stop it.
                log.warning("WISPGATE_ADMIN_TOKEN is ignored unless WISPGATE_ENV=development")
            self.admin_token = None
        elif self.admin_token is None:
            self.admin_token = DEV_TOKEN
        return self

    @model_validator(mode="after")
    def _session_secret(self) -> Settings:
        if self.session_secret is None:
            # A process of its own secret still signs safely; its sessions just end at a
            # restart and are not recognised by other replicas, which production should know.
            if self.env == "production":
                log.warning(
                    "WISPGATE_SESSION_SECRET is unset: admin sign-ins last until this process "
                    "stops and are not shared by other replicas"
                )
            self.session_secret = SecretStr(secrets.token_urlsafe(32))
        elif len(self.session_secret.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"WISPGATE_SESSION_SECRET needs at least {MIN_SECRET_LENGTH} characters"
            )
        return self


@lru_cache
def get_settings() -> Settings:
    """Settings read once per process."""
    return Settings()
