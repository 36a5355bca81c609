"""The importer worker: claims import jobs from PostgreSQL and runs them one at a time.

Two things wake it: a JetStream message on `{ns}.imports.queued` (the API's announcement of a
stored job, see `wakeups.py`) and a timer, so a lost message, a job left by a dead worker or a
worker started after the upload still gets done. Jobs are claimed with `for update skip locked`,
so any number of workers share them, in turns across tenants. While a job runs, its lease is
renewed; a worker that lost the job (another one claimed it after the lease ran out) stops
working on it. An attempt that runs past `IMPORTER_JOB_SECONDS` fails its job. Beside the
claim loop, each worker prunes old files and reports now and then (retention.py).
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

import asyncpg
from faststream.nats import NatsBroker

from contracts.subjects import commands_subject
from plumbing.broker import HEARTBEAT, servers

from . import jobs, retention
from .bulk import BulkRun
from .config import Settings
from .jobs import Job, Superseded
from .run import JobRun, Stopping
from .sender import Sender, Unanswered
from .wakeups import WakeUps

log = logging.getLogger(__name__)

CONNECT_RETRY_SECONDS = 5.0


class Worker:
    """One worker process: a pool, a broker connection, the claim loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.broker = NatsBroker(servers(settings.nats_url), max_reconnect_attempts=-1, **HEARTBEAT)
        self.wake = asyncio.Event()
        self.wakeups = WakeUps(self.broker, settings, self.wake)
        self.pool: asyncpg.Pool | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Claim and run jobs until `stop` is set; a running job is handed back between batches."""
        self.pool = await self.settings.create_pool("wispgate-importer", self.settings.pool_size)
        self.wakeups.pool = self.pool
        try:
            await self._connect(stop)
            stopping = asyncio.ensure_future(_set_when(stop, self.wake))
            pruning = asyncio.ensure_future(self._prune(stop))
            try:
                await self._loop(stop)
            finally:
                stopping.cancel()
                pruning.cancel()
        finally:
            await self.broker.stop()
            await self.pool.close()
            log.info("importer stopped")

    async def _connect(self, stop: asyncio.Event) -> None:
        """Start the broker (and the wake-up subscriber), trying again until NATS answers."""
        while not stop.is_set():
            try:
                await self.broker.start()
                log.info("importer started", extra={"namespace": self.settings.namespace})
                return
            except Exception:
                log.warning("cannot reach NATS yet, trying again", exc_info=True)
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), CONNECT_RETRY_SECONDS)

    async def _loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.wake.clear()
            try:
                job = await self._claim()
                if job is not None:
                    await self._run(job, stop)
                    continue
            except (OSError, asyncpg.PostgresError) as exc:
                # PostgreSQL is away: a job left running is claimed again once it is back.
                log.warning("cannot reach PostgreSQL: %r", exc)
            with suppress(TimeoutError):
                async with asyncio.timeout(self.settings.poll_interval):
                    await self.wake.wait()

    async def _claim(self) -> Job | None:
        """A job to run now, if any; one claimed too many times fails instead."""
        assert self.pool is not None
        job = await jobs.claim(self.pool, self.settings.lease_seconds)
        if job is None or job.attempts <= self.settings.max_attempts:
            return job
        message = (
            f"The import stopped {job.attempts - 1} times before it could finish and is not"
            " tried again"
        )
        last = f" (last: {job.message})" if job.message else ""
        await jobs.fail(self.pool, job, f"{message}{last}.")
        log.error("import given up", extra={"import_id": str(job.id), "attempts": job.attempts})
        return None

    async def _run(self, job: Job, stop: asyncio.Event) -> None:
        """Run one attempt of a job, renewing its lease; say why it stopped if it did."""
        assert self.pool is not None
        sender = Sender(
            self.broker.connection,
            commands_subject(self.settings.namespace),
            self.settings.request_timeout,
            self.settings.request_attempts,
            self.settings.retry_delay,
            secret=self.settings.commands_secret.get_secret_value(),
        )
        bulk = job.kind == "bulk"
        run = BulkRun if bulk else JobRun
        attempt = asyncio.ensure_future(run(self.pool, sender, self.settings, job, stop).run())
        lease = asyncio.ensure_future(self._keep_lease(job, attempt))
        fields = {"import_id": str(job.id), "attempt": job.attempts}
        seconds = self.settings.bulk_job_seconds if bulk else self.settings.job_seconds
        budget = asyncio.timeout(seconds)
        try:
            async with budget:
                await attempt
        except TimeoutError as exc:
            if not budget.expired():  # a timeout inside the attempt (a busy pool): passing
                await self._note(job, f"Interrupted, will be tried again: {exc!r}")
                return
            log.warning("import over its time", extra=fields)
            split = "narrow the selection" if bulk else "split the file into smaller ones"
            await jobs.fail(
                self.pool,
                job,
                f"The {'bulk change' if bulk else 'import'} took longer than {seconds:g} seconds"
                f" and was stopped: {split}.",
            )
        except Stopping:
            await jobs.release(self.pool, job)
            log.info("import handed back", extra=fields)
        except Superseded:
            log.warning("import taken over by another attempt", extra=fields)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # the worker itself is being cancelled
            log.warning("import taken over by another attempt", extra=fields)
        except Unanswered as exc:
            await self._note(job, f"Interrupted, will be tried again: {exc}")
        except Exception as exc:
            log.exception("import attempt failed", extra=fields)
            await self._note(job, f"Interrupted, will be tried again: {exc!r}")
        finally:
            lease.cancel()

    async def _keep_lease(self, job: Job, attempt: asyncio.Future[None]) -> None:
        """Renew the job's lease; cancel the attempt once the job is no longer its own."""
        assert self.pool is not None
        every = self.settings.lease_seconds / 3
        while True:
            await asyncio.sleep(every)
            try:
                await jobs.heartbeat(self.pool, job)
            except Superseded:
                attempt.cancel()
                return
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("cannot renew the lease: %r", exc, extra={"import_id": str(job.id)})

    async def _prune(self, stop: asyncio.Event) -> None:
        """Publish the quotas, then prune old files and reports every retention interval."""
        assert self.pool is not None
        while not stop.is_set():
            try:
                await retention.publish_quotas(self.pool, self.settings)
                await retention.prune(
                    self.pool,
                    self.settings.file_retention_days,
                    self.settings.report_retention_days,
                )
            except Exception as exc:  # PostgreSQL away or busy: the next round tries again
                log.warning("retention not run: %r", exc)
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.retention_interval)

    async def _note(self, job: Job, message: str) -> None:
        assert self.pool is not None
        with suppress(OSError, asyncpg.PostgresError):
            await jobs.note(self.pool, job, message)


async def _set_when(stop: asyncio.Event, wake: asyncio.Event) -> None:
    await stop.wait()
    wake.set()


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """Run one importer worker until `stop` is set."""
    await Worker(settings).run(stop)
