"""Registry of every event type, and parsing of envelopes into typed payloads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, create_model

from contracts.base import Event
from contracts.billing import BillingEvent
from contracts.directory import DirectoryEvent
from contracts.envelope import EventEnvelope
from contracts.inner import InnerEvent
from contracts.plans import PlanEvent
from contracts.radius import RadiusEvent
from contracts.subscription import SubscriptionEvent

AnyEvent = Annotated[
    DirectoryEvent | SubscriptionEvent | InnerEvent | PlanEvent | RadiusEvent | BillingEvent,
    Field(discriminator="type"),
]

_ADAPTER: TypeAdapter[Any] = TypeAdapter(AnyEvent)


def _collect() -> dict[str, type[Event]]:
    types: dict[str, type[Event]] = {}
    for union in (
        DirectoryEvent,
        SubscriptionEvent,
        InnerEvent,
        PlanEvent,
        RadiusEvent,
        BillingEvent,
    ):
        for model in union.__args__:
            types[model.model_fields["type"].default] = model
    return types


EVENT_TYPES: dict[str, type[Event]] = _collect()
"""Event type name (`subscription.created`) to its payload model."""

CURRENT_SCHEMA_VERSION: dict[str, int] = dict.fromkeys(EVENT_TYPES, 1)
"""The schema version written for each event type today."""

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

UPCASTERS: dict[tuple[str, int], Upcaster] = {}
"""(type, schema_version) to a function lifting that payload one version up.

Breaking payload changes get a new schema version and an entry here; stored events are never
edited, they are lifted when read.
"""


def upcast(event_type: str, schema_version: int, data: dict[str, Any]) -> dict[str, Any]:
    """Lift a stored payload to the current schema version of its type."""
    target = CURRENT_SCHEMA_VERSION.get(event_type, schema_version)
    while schema_version < target:
        data = UPCASTERS[(event_type, schema_version)](data)
        schema_version += 1
    return data


def parse_payload(event_type: str, schema_version: int, data: dict[str, Any]) -> Event:
    """Typed payload of a stored or published event."""
    payload = {**upcast(event_type, schema_version, data), "type": event_type}
    event: Event = _ADAPTER.validate_python(payload)
    return event


def parse_event(envelope: EventEnvelope) -> Event:
    """Typed payload of an envelope."""
    return parse_payload(envelope.type, envelope.schema_version, envelope.data)


def stream_type_of(event_type: str) -> str:
    """Stream type an event type belongs to (`subscription.created` -> `subscription`)."""
    return event_type.split(".", 1)[0]


def envelope_model(event_type: str) -> type[EventEnvelope]:
    """The envelope of one event type, with its typed payload (for AsyncAPI and JSON Schema)."""
    payload = EVENT_TYPES[event_type]
    name = "".join(part.title() for part in event_type.replace("_", ".").split(".")) + "Envelope"
    literal: Any = Literal[event_type]  # a type built at run time, one per event type
    data_model = create_model(
        f"{payload.__name__}Data", __base__=payload, type=(literal, Field(exclude=True))
    )
    model: type[EventEnvelope] = create_model(
        name,
        __base__=EventEnvelope,
        __doc__=payload.__doc__ or f"A `{event_type}` event.",
        type=(literal, event_type),
        data=(data_model, ...),
    )
    return model
