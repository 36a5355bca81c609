"""The `commands` process: the importer's command batches over core NATS request/reply.

It serves `{ns}.commands.subscription` in the queue group `{ns}-subscription`, so replicas
share the requests. FastStream's NatsBroker subscriber (the project's broker library) gives
what this needs as options: the queue group, bounded concurrency (`max_workers`: at most that
many batches run at once; further requests wait in the client's buffer), the reply sent from
the handler's return value, and a stop that waits for the batches in flight
(`graceful_timeout`). The handler takes the raw message body and parses it itself, so a
malformed request is answered with a BatchResult naming the problem rather than dropped by
the framework's own validation.

Only the importer's batches are acted on, for the tenant and actor of the job the API stored
(authentication.py): a request without the importer's signature, or for a job that is unknown,
not running or of another tenant or actor, is answered with a BatchResult error and logged.

Rows name their references by text: references.py resolves them before batches.py decides and
appends the rows. A batch marked `BATCH_KIND_HEADER: bulk` is a bulk change's (bulk.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass

import asyncpg
from faststream.nats import NatsBroker
from faststream.nats.annotations import NatsMessage
from pydantic import ValidationError

from contracts.bulk import BATCH_KIND_HEADER, BULK_KIND
from contracts.imports import DEV_COMMANDS_SECRET, BatchResult, CommandBatch
from contracts.subjects import check_tenant, commands_subject, durable_name
from plumbing.broker import HEARTBEAT, servers
from plumbing.process import stop_on_signals
from services.subscription.commands.authentication import Jobs, Refused, check_signature
from services.subscription.commands.bulk import BulkChanges
from services.subscription.commands.references import References
from services.subscription.config import MIN_SECRET_LENGTH, Settings
from services.subscription.publishing.hints import AppendHints
from services.subscription.usecases.calls import Runner
from services.subscription.write.batches import Batches
from services.subscription.write.eventstore import EventStore
from services.subscription.write.handlers import Handlers
from services.subscription.write.unique_ids import UniqueIds

log = logging.getLogger(__name__)

QUEUE = "subscription"
CONNECT_RETRY_SECONDS = 2.0
# How long a stop waits for the batches in flight; an unanswered one is sent again by the
# importer with the same idempotency keys, so nothing is lost past it.
GRACEFUL_SECONDS = 30.0


@dataclass(frozen=True)
class Service:
    """What answering a request takes: the shared secret, the jobs, the resolver, the writer."""

    secret: str
    jobs: Jobs
    references: References
    batches: Batches
    bulk: BulkChanges | None = None


async def answer(service: Service, data: bytes, headers: Mapping[str, str] | None) -> bytes:
    """The reply to one request: a BatchResult as JSON, whatever the request held."""
    try:
        check_signature(service.secret, data, headers)
    except Refused as exc:
        log.warning("command batch refused: %s", exc)
        return BatchResult(error=f"refused: {exc}").model_dump_json().encode()
    if service.bulk is not None and (headers or {}).get(BATCH_KIND_HEADER) == BULK_KIND:
        return (await service.bulk.answer(data)).model_dump_json().encode()
    batch = _parse(data)
    if isinstance(batch, str):
        result = BatchResult(error=f"not a command batch: {batch}")
    else:
        fields = {"import_id": str(batch.import_id), "tenant_id": batch.tenant_id}
        try:
            batch = await service.jobs.authorize(batch)
            result = await handle(service.batches, service.references, batch)
        except Refused as exc:
            log.warning("command batch refused: %s", exc, extra=fields)
            result = BatchResult(error=f"refused: {exc}")
        except Exception as exc:
            log.exception("command batch failed", extra=fields)
            result = BatchResult(error=f"the batch was not handled ({exc}); send it again")
    return result.model_dump_json().encode()


async def handle(batches: Batches, references: References, batch: CommandBatch) -> BatchResult:
    """Resolve the rows' references, then create the rows; the checked rows' problems."""
    resolved, checks = await references.resolve(batch)
    result = await batches.handle(batch, resolved) if batch.rows else BatchResult()
    return result.model_copy(update={"checks": checks}) if checks else result


def _parse(data: bytes) -> CommandBatch | str:
    """The batch, or what is wrong with the request."""
    try:
        batch = CommandBatch.model_validate_json(data)
    except ValidationError as exc:
        return _describe(exc)
    try:
        # The tenant names a sequence and reaches subjects: only the API's tenant ids pass.
        check_tenant(batch.tenant_id)
    except ValueError as exc:
        return str(exc)
    return batch


class CommandServer:
    """A pool, append hints and the subscriber answering command batches."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.secret = signing_secret(settings)
        self.broker = NatsBroker(
            servers(settings.nats_url),
            name="wispgate-commands",
            graceful_timeout=GRACEFUL_SECONDS,
            logger=log,  # through this service's log set-up, not FastStream's own handler
            log_level=logging.DEBUG,  # one line per request is too many at INFO
            **HEARTBEAT,
        )
        self.hints = AppendHints(settings.nats_url, settings.namespace, "wispgate-commands")
        self.pool: asyncpg.Pool | None = None

    async def start(self, stop: asyncio.Event) -> bool:
        """Connect and subscribe; retries until NATS answers. False when stopped first."""
        self.pool = await self.settings.create_pool(
            "wispgate-commands", self.settings.commands_concurrency + 1
        )
        await self.hints.start()
        store = EventStore(self.pool)
        handlers = Handlers(store, self.hints.appended)
        service = Service(
            self.secret,
            Jobs(self.pool),
            References(self.pool, self.settings.read_wait_seconds),
            Batches(store, UniqueIds(self.pool), self.hints.appended),
            BulkChanges(self.pool, Runner(store, handlers), handlers),
        )
        ns = self.settings.namespace

        @self.broker.subscriber(
            commands_subject(ns),
            queue=durable_name(ns, QUEUE),
            max_workers=self.settings.commands_concurrency,
        )
        async def serve(msg: NatsMessage) -> bytes:
            return await answer(service, msg.body, msg.headers)

        while not stop.is_set():
            try:
                await self.broker.start()
                log.info("serving command batches", extra={"subject": commands_subject(ns)})
                return True
            except Exception as exc:
                log.warning("cannot reach NATS yet: %s", exc)
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), CONNECT_RETRY_SECONDS)
        return False

    async def stop(self) -> None:
        """Take no new requests, finish those in flight, close everything."""
        await self.broker.stop()
        await self.hints.close()
        if self.pool is not None:
            await self.pool.close()
        log.info("command server stopped")


async def run(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Serve command batches until `stop` is set (SIGTERM or SIGINT when none is given)."""
    stop = stop or stop_on_signals()
    server = CommandServer(settings)
    try:
        if await server.start(stop):
            await stop.wait()
    finally:
        await server.stop()


def signing_secret(settings: Settings) -> str:
    """WISPGATE_COMMANDS_SECRET; in production the development default or a short one stops
    the process, as anyone knowing it could send batches."""
    secret = settings.commands_secret.get_secret_value()
    if settings.env == "production" and (
        secret == DEV_COMMANDS_SECRET or len(secret) < MIN_SECRET_LENGTH
    ):
        raise ValueError(
            f"WISPGATE_COMMANDS_SECRET must be set to {MIN_SECRET_LENGTH}+ characters (the"
            " importer's own) unless WISPGATE_ENV is development or test"
        )
    return secret


def _describe(exc: ValidationError) -> str:
    """The first few problems of a request, each with where it is."""
    problems = [
        f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()[:3]
    ]
    more = len(exc.errors()) - len(problems)
    return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")
