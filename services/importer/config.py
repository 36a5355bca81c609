"""Settings of the importer worker, from the environment, with local defaults."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr

from contracts.imports import DEV_COMMANDS_SECRET, MAX_BATCH_BYTES
from plumbing.settings import ServiceSettings

from .xlsx import Limits

MIB = 1024 * 1024
MIGRATIONS = Path(__file__).with_name("migrations")


class Settings(ServiceSettings):
    # What an upload may cost (see xlsx/package.py): its size, what it unpacks to, how much
    # better than ordinary spreadsheets it may pack (a zip bomb packs thousands of times), rows.
    max_file_bytes: int = Field(20 * MIB, alias="IMPORTER_MAX_FILE_BYTES", ge=1024)
    max_unpacked_bytes: int = Field(256 * MIB, alias="IMPORTER_MAX_UNPACKED_BYTES", ge=MIB)
    max_compression_ratio: int = Field(100, alias="IMPORTER_MAX_COMPRESSION_RATIO", ge=10)
    max_rows: int = Field(100_000, alias="IMPORTER_MAX_ROWS", ge=1)
    # Rows per command batch; a batch is also cut below NATS's payload limit.
    batch_rows: int = Field(1000, alias="IMPORTER_BATCH_ROWS", ge=1, le=10_000)
    # Subscriptions per batch of a bulk change (bulk.py): each is one command of its own.
    bulk_rows: int = Field(250, alias="IMPORTER_BULK_BATCH_ROWS", ge=1, le=5_000)
    # The wall time of one attempt at a bulk change (up to contracts.bulk.MAX_BULK_ROWS
    # subscriptions, a few milliseconds each).
    bulk_job_seconds: float = Field(3600.0, alias="IMPORTER_BULK_JOB_SECONDS", gt=0)
    # Batches sent before the first one's answer is awaited: the subscription service works on
    # one while the importer reads, checks and records around another.
    in_flight: int = Field(2, alias="IMPORTER_IN_FLIGHT", ge=1, le=16)
    # How long one batch may take to be answered, and how often it is sent before the attempt
    # stops (the job is claimed again once its lease runs out).
    request_timeout: float = Field(60.0, alias="IMPORTER_REQUEST_TIMEOUT", gt=0)
    request_attempts: int = Field(4, alias="IMPORTER_REQUEST_ATTEMPTS", ge=1)
    retry_delay: float = Field(1.0, alias="IMPORTER_RETRY_DELAY", gt=0)
    # PostgreSQL is polled for queued jobs (and ones whose worker died) this often.
    poll_interval: float = Field(5.0, alias="IMPORTER_POLL_INTERVAL", gt=0)
    # A running job whose worker has not renewed it for this long is claimed again.
    lease_seconds: float = Field(30.0, alias="IMPORTER_LEASE_SECONDS", gt=0.5)
    # A job claimed this many times without finishing fails.
    max_attempts: int = Field(5, alias="IMPORTER_MAX_ATTEMPTS", ge=1)
    # A wake-up message is dead-lettered on this delivery instead of being retried again.
    max_deliveries: int = Field(5, alias="IMPORTER_MAX_DELIVERIES", ge=1, le=100)
    ack_wait: float = Field(30.0, alias="IMPORTER_ACK_WAIT", gt=1)
    # How long a finished job waits for the list to show its rows before completing anyway.
    visible_wait: float = Field(30.0, alias="IMPORTER_VISIBLE_WAIT", ge=0)
    pool_size: int = Field(4, alias="IMPORTER_DB_POOL_SIZE", ge=2)
    # What one job may make the importer keep and do (see report.py and budget.py): the failed
    # rows kept for its report (errors and errors.xlsx), counted and in bytes; the CPU time its
    # file's reading and checking may take; the wall time of one attempt.
    max_error_rows: int = Field(10_000, alias="IMPORTER_MAX_ERROR_ROWS", ge=0)
    max_failed_row_bytes: int = Field(16 * MIB, alias="IMPORTER_MAX_FAILED_ROW_BYTES", ge=0)
    job_cpu_seconds: float = Field(60.0, alias="IMPORTER_JOB_CPU_SECONDS", gt=0)
    job_seconds: float = Field(600.0, alias="IMPORTER_JOB_SECONDS", gt=0)
    # Uploads a tenant may have waiting (imports.submit refuses more; the API answers 429).
    max_queued_per_tenant: int = Field(10, alias="IMPORTER_MAX_QUEUED_PER_TENANT", ge=1)
    # Retention (retention.py): uploaded files and the reports of jobs finished longer ago are
    # deleted, the job itself and its counts kept; checked this often by one worker at a time.
    file_retention_days: float = Field(7.0, alias="IMPORTER_FILE_RETENTION_DAYS", gt=0)
    report_retention_days: float = Field(30.0, alias="IMPORTER_REPORT_RETENTION_DAYS", gt=0)
    retention_interval: float = Field(3600.0, alias="IMPORTER_RETENTION_INTERVAL", gt=0)
    # Signs command batches; the subscription service's `commands` process holds the same.
    commands_secret: SecretStr = Field(
        SecretStr(DEV_COMMANDS_SECRET), alias="WISPGATE_COMMANDS_SECRET"
    )

    @property
    def limits(self) -> Limits:
        return Limits(
            max_file_bytes=self.max_file_bytes,
            max_unpacked_bytes=self.max_unpacked_bytes,
            max_ratio=self.max_compression_ratio,
            max_rows=self.max_rows,
        )

    @property
    def max_batch_bytes(self) -> int:
        return MAX_BATCH_BYTES


@lru_cache
def get_settings() -> Settings:
    """Settings read once per process."""
    return Settings()
