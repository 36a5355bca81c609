"""Who may send a command batch, and for whom: the importer, for a job the API stored.

Anyone who can publish on `{ns}.commands.subscription` reaches this process, so nothing in a
request is taken on trust. Its body must carry the importer's signature (`SIGNATURE_HEADER`: an
HMAC-SHA256 of the exact body bytes under WISPGATE_COMMANDS_SECRET), checked before the body is
parsed. Then the batch's tenant, actor and dry-run flag come from its import job as the API
stored it (the importer's published view `imports.job_states`, read through read/imports.py):
a batch naming a job this service does not know, a job that is not running, or a tenant, actor
or dry-run flag other than the job's, is refused. A running job is kept a few seconds, so an
import of many batches costs one query per few seconds, not one per batch.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping
from uuid import UUID

import asyncpg

from contracts.imports import SIGNATURE_HEADER, CommandBatch, JobState, batch_signature
from services.subscription.read import imports

log = logging.getLogger(__name__)

# How long a running job is kept before it is read again, and how many jobs are kept.
KEEP_SECONDS = 5.0
KEEP_JOBS = 256


class Refused(Exception):
    """A request this process will not act on; the message says why."""


def check_signature(secret: str, body: bytes, headers: Mapping[str, str] | None) -> None:
    """Refused unless the request carries the importer's signature of exactly this body."""
    given = (headers or {}).get(SIGNATURE_HEADER)
    if not given:
        raise Refused(f"the request has no {SIGNATURE_HEADER} header")
    expected = batch_signature(secret, body)
    if not hmac.compare_digest(expected.encode(), given.encode(errors="replace")):
        raise Refused(f"the request's {SIGNATURE_HEADER} does not match its body")


class Jobs:
    """The import jobs batches belong to, each running one kept for `KEEP_SECONDS`."""

    def __init__(self, pool: asyncpg.Pool, keep_seconds: float = KEEP_SECONDS) -> None:
        self._pool = pool
        self._keep_seconds = keep_seconds
        self._kept: OrderedDict[UUID, tuple[float, imports.Origin]] = OrderedDict()

    async def authorize(self, batch: CommandBatch) -> CommandBatch:
        """The batch for its job's tenant and actor; Refused when it is not the job's."""
        job = await self._origin(batch.import_id)
        if job is None:
            raise Refused(f"import {batch.import_id} is unknown")
        if job.state != JobState.RUNNING:
            raise Refused(f"import {batch.import_id} is {job.state}, not running")
        differ = [
            name
            for name, claimed, stored in (
                ("tenant_id", batch.tenant_id, job.tenant_id),
                ("actor", batch.actor, job.actor),
                ("dry_run", batch.dry_run, job.dry_run),
            )
            if claimed != stored
        ]
        if differ:
            raise Refused(f"the batch's {', '.join(differ)} differ from import {batch.import_id}'s")
        return batch.model_copy(
            update={"tenant_id": job.tenant_id, "actor": job.actor, "dry_run": job.dry_run}
        )

    async def _origin(self, import_id: UUID) -> imports.Origin | None:
        now = time.monotonic()
        kept = self._kept.get(import_id)
        if kept is not None and now - kept[0] <= self._keep_seconds:
            return kept[1]
        job = await imports.origin(self._pool, import_id)
        # Only a running job is kept: a queued one may start any moment.
        if job is not None and job.state == JobState.RUNNING:
            self._kept[import_id] = (now, job)
            self._kept.move_to_end(import_id)
            while len(self._kept) > KEEP_JOBS:
                self._kept.popitem(last=False)
        else:
            self._kept.pop(import_id, None)
        return job
