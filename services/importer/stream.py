"""The JetStream stream of import wake-ups, created by `python -m services.importer setup`.

Work-queue retention: a wake-up is deleted once a worker acknowledged it, and each subject has
one consumer (the importers' shared durable). The stream only wakes workers sooner; the jobs
themselves live in PostgreSQL, which workers also poll.
"""

from __future__ import annotations

from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig

from contracts.subjects import check_namespace, import_queued_subject, imports_stream
from plumbing import broker

MAX_AGE_SECONDS = 7 * 86400.0
# The API may send a wake-up again (with the import id as Nats-Msg-Id): within this window the
# broker keeps one.
DUPLICATE_WINDOW_SECONDS = 120.0
# Fields setup brings an existing stream to; every other one an operator may have tuned (limits,
# placement) is kept. The durable consumer follows the stream's replicas.
MANAGED_FIELDS = ("subjects", "max_age", "duplicate_window", "discard", "num_replicas")


def stream_config(namespace: str, replicas: int = 1) -> StreamConfig:
    """Configuration of the imports stream of a namespace."""
    return StreamConfig(
        name=imports_stream(check_namespace(namespace)),
        description="Wake-ups of the importer: an import job was stored",
        subjects=[import_queued_subject(namespace)],
        retention=RetentionPolicy.WORK_QUEUE,
        discard=DiscardPolicy.OLD,
        storage=StorageType.FILE,
        max_age=MAX_AGE_SECONDS,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        num_replicas=replicas,
    )


async def ensure_stream(nats_url: str, namespace: str, replicas: int = 1) -> None:
    """Create the imports stream, or bring an existing one to these settings; idempotent."""
    await broker.ensure_stream(nats_url, stream_config(namespace, replicas), MANAGED_FIELDS)
