"""Bulk changes: one status change or engineer assignment over many subscriptions, as a job.

The subscriptions are fixed when the change is submitted: the ids given, or every one the list's
filter matches then (the same filters as `GET /subscriptions`), at most
`contracts.bulk.MAX_BULK_ROWS`. They are handed to the importer as a queued job of kind `bulk`
(read/imports.store_bulk); the importer sends them to the `commands` process, which changes each
one through the same use case as the single routes (commands/bulk.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID, uuid4

import asyncpg
from pydantic import Field, StringConstraints

from contracts.bulk import MAX_BULK_ROWS, BulkAction, EngineerAction
from contracts.subscription import Status
from services.subscription.domain.errors import Invalid
from services.subscription.read import bulk as selected_ids
from services.subscription.read import directory
from services.subscription.read.imports import BulkSubmission, QueueFull, store_bulk
from services.subscription.usecases.exports import selection
from services.subscription.usecases.inputs import Body

# Ids sent one by one: a body of them stays well under the API's 1 MiB; more go by filter.
MAX_GIVEN_IDS = 10_000

__all__ = ["MAX_BULK_ROWS", "BulkFilter", "BulkIn", "QueueFull", "Queued", "submit"]


class BulkFilter(Body):
    """The list's filters (`GET /subscriptions`): every subscription they match."""

    status: list[Status] | None = Field(None, max_length=len(Status))
    engineer_id: UUID | None = None
    organization_id: UUID | None = None
    contact_id: UUID | None = None
    q: Annotated[str, StringConstraints(max_length=200)] | None = None
    overdue: bool | None = None
    plan_id: UUID | None = None


class BulkIn(Body):
    """A bulk change: the subscriptions (by id, or by the list's filter) and the action."""

    subscription_ids: list[UUID] | None = Field(
        None, min_length=1, max_length=MAX_GIVEN_IDS, description="these subscriptions"
    )
    filter: BulkFilter | None = Field(
        None, description=f"every subscription the list's filters match (at most {MAX_BULK_ROWS:,})"
    )
    action: BulkAction


@dataclass(frozen=True)
class Queued:
    """A stored bulk job: its id and how many subscriptions it is for."""

    job_id: UUID
    rows_total: int


async def submit(pool: asyncpg.Pool, tenant_id: str, actor: str, data: BulkIn) -> Queued:
    """Fix the subscriptions, check the action, store the job; Invalid names the field at fault,
    QueueFull when the tenant has too many jobs waiting."""
    if (data.subscription_ids is None) == (data.filter is None):
        raise Invalid("give either subscription_ids or filter (one of them)", "/filter")
    if isinstance(data.action, EngineerAction):
        await _check_engineer(pool, tenant_id, data.action.engineer_id)
    if data.subscription_ids is not None:
        ids = list(dict.fromkeys(data.subscription_ids))
    else:
        assert data.filter is not None
        ids = await _matching(pool, tenant_id, data.filter)
    job = BulkSubmission(uuid4(), tenant_id, actor, data.action.model_dump(mode="json"), ids)
    await store_bulk(pool, job)
    return Queued(job.job_id, len(ids))


async def _matching(pool: asyncpg.Pool, tenant_id: str, given: BulkFilter) -> list[UUID]:
    chosen = selection(
        given.status, given.engineer_id, given.organization_id, given.contact_id, given.q,
        overdue=given.overdue, plan_id=given.plan_id,
    )  # fmt: skip
    ids = await selected_ids.matching_ids(pool, tenant_id, chosen.filters, MAX_BULK_ROWS + 1)
    if not ids:
        raise Invalid("the filter matches no subscription", "/filter")
    if len(ids) > MAX_BULK_ROWS:
        raise Invalid(
            f"the filter matches more than {MAX_BULK_ROWS:,} subscriptions; narrow it", "/filter"
        )
    return ids


async def _check_engineer(pool: asyncpg.Pool, tenant_id: str, engineer_id: UUID) -> None:
    """The engineer must be the tenant's and active, as each assignment would check."""
    entry = await directory.get_entry(pool, tenant_id, "engineer", engineer_id)
    if entry is None:
        raise Invalid(f"engineer {engineer_id} does not exist", "/action/engineer_id")
    if not entry["active"]:
        raise Invalid(f"engineer {engineer_id} is deactivated", "/action/engineer_id")
