"""Names on the broker. `ns` is WISPGATE_NAMESPACE (default `wispgate`), lower case."""

from __future__ import annotations

import re

_NAMESPACE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_TENANT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def check_namespace(ns: str) -> str:
    """The namespace, if it is a valid token of a subject and a stream name."""
    if not _NAMESPACE.match(ns):
        raise ValueError(f"namespace {ns!r} must match {_NAMESPACE.pattern}")
    return ns


def check_tenant(tenant_id: str) -> str:
    """The tenant id, if it can stand as one token of a subject."""
    if not _TENANT.match(tenant_id):
        raise ValueError(f"tenant id {tenant_id!r} must match {_TENANT.pattern}")
    return tenant_id


def events_stream(ns: str) -> str:
    """JetStream stream holding every event: `WISPGATE_EVENTS`."""
    return f"{ns.upper()}_EVENTS"


def events_wildcard(ns: str) -> str:
    """Subjects of the events stream: `wispgate.events.>`."""
    return f"{ns}.events.>"


def event_subject(ns: str, tenant_id: str, event_type: str) -> str:
    """Subject of one event: `wispgate.events.default.subscription.status_changed`."""
    return f"{ns}.events.{tenant_id}.{event_type}"


def tenant_events(ns: str, tenant_id: str) -> str:
    """Every event of one tenant, for an integrator's permissions: `wispgate.events.acme.>`."""
    return f"{ns}.events.{tenant_id}.>"


def durable_name(ns: str, consumer: str) -> str:
    """Durable consumer name of a subscribing service: `wispgate-projections`."""
    return f"{ns}-{consumer}"


def dead_letter_subject(ns: str, consumer: str) -> str:
    """Where a consumer's undeliverable messages go, outside the events stream."""
    return f"{ns}.dlq.{consumer}"


def appended_hint_subject(ns: str) -> str:
    """Core NATS subject (no stream) of the hint that events were appended: wakes the
    relay and the projection worker."""
    return f"{ns}.hints.appended"


def projected_hint_subject(ns: str) -> str:
    """Core NATS subject (no stream) of the hint that read models moved on: wakes the API's
    read-your-writes waits (`min_position`)."""
    return f"{ns}.hints.projected"


def commands_subject(ns: str) -> str:
    """Core NATS request/reply subject for command batches from the importer."""
    return f"{ns}.commands.subscription"


def imports_stream(ns: str) -> str:
    """JetStream stream (work-queue retention) of import wake-ups: `WISPGATE_IMPORTS`."""
    return f"{ns.upper()}_IMPORTS"


def import_queued_subject(ns: str) -> str:
    """Wake-up published when an import job is stored: body `{"import_id": ...}`."""
    return f"{ns}.imports.queued"
