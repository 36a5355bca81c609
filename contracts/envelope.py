"""The envelope every event travels in, stored and published alike."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict


class Metadata(BaseModel):
    """Who caused an event and in answer to what."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    actor: str
    correlation_id: UUID | None = None
    causation_id: UUID | None = None
    idempotency_key: str | None = None
    import_id: UUID | None = None


class EventEnvelope(BaseModel):
    """One stored event: its place in the store, its metadata and its payload (`data`)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: UUID
    type: str
    schema_version: int
    tenant_id: str
    stream_id: UUID
    stream_type: str
    version: int
    position: int
    occurred_at: datetime
    metadata: Metadata
    data: dict[str, Any]
