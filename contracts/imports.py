"""Bulk import: the command batches the importer sends, the replies, and the job it reports.

The importer checks a spreadsheet's rows, then sends them in batches to the subscription
service over core NATS request/reply (`contracts.subjects.commands_subject`). A row names its
contact, organization, engineer and service contract by the text of its cells (`references`);
the service resolves them among the tenant's active directory entries, runs every row through
the same deciders as the API and answers one result per row. Each row carries an idempotency key
derived from the tenant and the row's content, so a batch sent again (a retry, a restarted
worker, the same file uploaded twice) creates nothing new: such rows come back `skipped`.

Only the importer may send batches: each request carries `SIGNATURE_HEADER`, the HMAC-SHA256 of
its exact body under the secret both services share (`WISPGATE_COMMANDS_SECRET`), and the
service takes the tenant, actor and dry-run flag from the import job the API stored, refusing a
batch whose own differ, whose job it does not know or whose job is not running.
"""

from __future__ import annotations

import hashlib
import hmac
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.subscription import Status

# NATS's default max_payload is 1 MiB; batches are cut well below it.
MAX_BATCH_BYTES = 512 * 1024

# NATS header of a CommandBatch request: `batch_signature` of its body, as lower-case hex.
SIGNATURE_HEADER = "Wispgate-Signature"
# The shared secret when WISPGATE_COMMANDS_SECRET is unset: accepted in development and test
# only (the `commands` process refuses to start with it in production).
DEV_COMMANDS_SECRET = "wispgate-development-commands-secret"


def batch_signature(secret: str, body: bytes) -> str:
    """HMAC-SHA256 of a request's exact body bytes under the shared secret, as hex."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class RowReferences(BaseModel):
    """What a row's cells name, as text, for the subscription service to resolve.

    A contact, organization or engineer by ID, email or exact name; a service contract by ID,
    number or exact title. Only the tenant's active entries resolve; a text that names none, or
    more than one, is a problem of the row naming its column.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    contact: str | None = None
    organization: str | None = None
    engineer: str | None = None
    service_contract: str | None = None


class ImportedSubscription(BaseModel):
    """One row the importer found valid: its references as ids, or as text in `references`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    row: int = Field(ge=2, description="the spreadsheet's own row number (the header is row 1)")
    idempotency_key: str = Field(min_length=1, max_length=200)
    unique_id: str | None = Field(None, description="kept from the file; generated when absent")
    name: str
    contact_id: UUID | None = Field(None, description="required unless references.contact is")
    organization_id: UUID | None = None
    engineer_id: UUID | None = Field(None, description="required unless references.engineer is")
    service_contract_id: UUID | None = None
    status: Status
    description: str | None = None
    references: RowReferences | None = Field(
        None, description="references named by text, resolved by the subscription service"
    )

    @model_validator(mode="after")
    def _each_reference_named_once(self) -> ImportedSubscription:
        texts = self.references or RowReferences()
        named = {
            "contact": (self.contact_id, texts.contact, True),
            "organization": (self.organization_id, texts.organization, False),
            "engineer": (self.engineer_id, texts.engineer, True),
            "service_contract": (self.service_contract_id, texts.service_contract, False),
        }
        for field, (by_id, by_text, required) in named.items():
            if by_id is not None and by_text is not None:
                raise ValueError(f"{field}: give {field}_id or references.{field}, not both")
            if required and by_id is None and by_text is None:
                raise ValueError(f"{field}: {field}_id or references.{field} is required")
        return self


class RowCheck(BaseModel):
    """A row that failed in the importer: only its references are resolved, so that every
    problem of the row is reported. Nothing is created for it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    row: int = Field(ge=2)
    references: RowReferences


class CommandBatch(BaseModel):
    """A request on `{ns}.commands.subscription`: rows to create in one tenant."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    import_id: UUID
    tenant_id: str
    actor: str = Field(description="who uploaded the file (the token's name)")
    dry_run: bool = False
    rows: list[ImportedSubscription] = Field(default_factory=list)
    checks: list[RowCheck] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_empty(self) -> CommandBatch:
        if not self.rows and not self.checks:
            raise ValueError("a batch holds at least one row or check")
        return self


class RowError(BaseModel):
    """One problem of one row, as the job reports it."""

    model_config = ConfigDict(frozen=True)

    row: int
    column: str | None = None
    message: str


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
    errors: list[RowError] = Field(
        default_factory=list,
        description="every problem of a failed row, each naming its column (the first is also"
        " in column and message)",
    )


class BatchResult(BaseModel):
    """The reply to a CommandBatch: one result per row, in the batch's order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    results: list[RowResult] = Field(default_factory=list)
    checks: list[RowResult] = Field(
        default_factory=list, description="the checked rows whose references have problems"
    )
    position: int = Field(0, description="highest position appended (0 when nothing was)")
    error: str | None = Field(None, description="the batch as a whole could not be handled")


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
