"""Bulk import: the command batches the importer sends, the replies, and the job it reports.

The importer validates and resolves a spreadsheet's rows, then sends them in batches to the
subscription service over core NATS request/reply (`contracts.subjects.commands_subject`). The
service runs every row through the same deciders as the API and answers one result per row.
Each row carries an idempotency key derived from the tenant and the row's content, so a batch
sent again (a retry, a restarted worker, the same file uploaded twice) creates nothing new: such
rows come back `skipped`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.subscription import Status

# NATS's default max_payload is 1 MiB; batches are cut well below it.
MAX_BATCH_BYTES = 512 * 1024


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class ImportedSubscription(BaseModel):
    """One valid row, its references already resolved to ids of the tenant."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    row: int = Field(ge=2, description="the spreadsheet's own row number (the header is row 1)")
    idempotency_key: str = Field(min_length=1, max_length=200)
    unique_id: str | None = Field(None, description="kept from the file; generated when absent")
    name: str
    contact_id: UUID
    organization_id: UUID | None = None
    engineer_id: UUID
    service_contract_id: UUID | None = None
    status: Status
    description: str | None = None


class CommandBatch(BaseModel):
    """A request on `{ns}.commands.subscription`: rows to create in one tenant."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    import_id: UUID
    tenant_id: str
    actor: str = Field(description="who uploaded the file (the token's name)")
    dry_run: bool = False
    rows: list[ImportedSubscription] = Field(min_length=1)


RowOutcome = Literal["created", "skipped", "failed"]


class RowResult(BaseModel):
    """What became of one row. `created` in a dry run means it would be created."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    row: int
    outcome: RowOutcome
    subscription_id: UUID | None = None
    unique_id: str | None = None
    column: str | None = Field(None, description="the spreadsheet column at fault, if any")
    message: str | None = None


class BatchResult(BaseModel):
    """The reply to a CommandBatch: one result per row, in the batch's order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    results: list[RowResult] = Field(default_factory=list)
    position: int = Field(0, description="highest position appended (0 when nothing was)")
    error: str | None = Field(None, description="the batch as a whole could not be handled")


class RowError(BaseModel):
    """One problem of one row, as the job reports it."""

    model_config = ConfigDict(frozen=True)

    row: int
    column: str | None = None
    message: str


class ImportJob(BaseModel):
    """`GET /api/v1/imports/{id}`: the state of an import job."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    state: JobState
    dry_run: bool
    filename: str | None = None
    rows_total: int = 0
    rows_processed: int = 0
    rows_created: int = 0
    rows_skipped: int = 0
    rows_failed: int = 0
    errors: list[RowError] = Field(
        default_factory=list, description="the first problems in row order (see errors_truncated)"
    )
    errors_truncated: bool = Field(
        False, description="more problems than `errors` lists; errors.xlsx has every failed row"
    )
    position: int = Field(0, description="the list holds every created row once it reached this")
    message: str | None = Field(None, description="why a failed job failed")
