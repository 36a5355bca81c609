"""Bulk changes: one action (a status change or an engineer) over many subscriptions, as a job.

The API resolves the subscriptions at submission (the ids given, or every one the list's filter
matches, at most `MAX_BULK_ROWS`) and stores them with the action as a queued job of the
importer's (kind `bulk`, the same job machinery as a spreadsheet's). The importer sends them in
`BulkBatch`es over the same signed request/reply as import batches (`contracts.imports`), marked
by `BATCH_KIND_HEADER`; the subscription service runs one command per subscription through the
API's own use case, under an idempotency key made of the job and the subscription
(`row_key`), with the job's id as the events' `import_id`. A batch sent again changes nothing
twice: a row already applied answers its first outcome. A row the rules refuse (a closed
subscription, an unknown one, an inactive engineer) is reported with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from contracts.imports import JobState
from contracts.subscription import Status
from contracts.values import check_text

# The most subscriptions one bulk change may touch (a filter matching more is refused).
MAX_BULK_ROWS = 100_000
# NATS header of a signed request holding a BulkBatch (an import batch has none).
BATCH_KIND_HEADER = "Wispgate-Batch-Kind"
BULK_KIND = "bulk"

# As the status change's own reason: up to 500 characters, line breaks allowed, no control
# characters (refused here, once, rather than by every row's decider).
Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500),
    AfterValidator(partial(check_text, multiline=True)),
]


def row_key(job_id: UUID, subscription_id: UUID) -> str:
    """The idempotency key of one subscription's command in one bulk job."""
    return f"bulk:{job_id}:{subscription_id}"


class StatusAction(BaseModel):
    """Move every subscription to `status`, recording `reason`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["status"]
    status: Status
    reason: Reason


class EngineerAction(BaseModel):
    """Assign every subscription to the engineer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["engineer"]
    engineer_id: UUID


BulkAction = Annotated[StatusAction | EngineerAction, Field(discriminator="type")]


class BulkRow(BaseModel):
    """One subscription of a job, by its place in the job (1, 2, ...)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int = Field(ge=1)
    subscription_id: UUID


class BulkBatch(BaseModel):
    """A request on `{ns}.commands.subscription` with `BATCH_KIND_HEADER: bulk`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    job_id: UUID
    tenant_id: str
    actor: str
    action: BulkAction
    rows: list[BulkRow] = Field(min_length=1)


BulkOutcome = Literal["changed", "unchanged", "refused"]


class BulkRowResult(BaseModel):
    """What became of one subscription: changed, already so (unchanged), or refused (why)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int
    subscription_id: UUID
    outcome: BulkOutcome
    message: str | None = None


class BulkBatchResult(BaseModel):
    """The reply to a BulkBatch: one result per row, in the batch's order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    results: list[BulkRowResult] = Field(default_factory=list)
    position: int = Field(0, description="highest position appended (0 when nothing was)")
    error: str | None = Field(None, description="the batch as a whole could not be handled")


class RefusedRow(BaseModel):
    """A subscription the job did not change, and why."""

    model_config = ConfigDict(frozen=True)

    subscription_id: UUID
    unique_id: str | None = Field(None, description="None when the tenant has no such one")
    name: str | None = None
    reason: str


class BulkJob(BaseModel):
    """`GET /api/v1/subscriptions/bulk/{job_id}`: the state of a bulk change."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    state: JobState
    action: BulkAction
    rows_total: int = 0
    rows_processed: int = 0
    rows_changed: int = 0
    rows_unchanged: int = Field(0, description="already as asked: nothing appended")
    rows_refused: int = 0
    refused: list[RefusedRow] = Field(
        default_factory=list, description="the first refused subscriptions, in the job's order"
    )
    refused_truncated: bool = Field(False, description="more were refused than `refused` lists")
    position: int = Field(0, description="the list shows every change once it reached this")
    message: str | None = Field(None, description="why a failed job failed")
    created_at: datetime | None = None
    finished_at: datetime | None = None


def job_of(metadata: Mapping[str, Any]) -> str | None:
    """The bulk job an event's metadata names (its `import_id`, under a `row_key`), if any."""
    job, key = metadata.get("import_id"), metadata.get("idempotency_key")
    if job and isinstance(key, str) and key.startswith(f"{BULK_KIND}:{job}:"):
        return str(job)
    return None
