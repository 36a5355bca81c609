"""WISPGate's public language: commands, event payloads, the envelope and broker names."""

from contracts.envelope import EventEnvelope, Metadata
from contracts.events import EVENT_TYPES, parse_event, parse_payload
from contracts.subscription import Status

__all__ = ["EVENT_TYPES", "EventEnvelope", "Metadata", "Status", "parse_event", "parse_payload"]
