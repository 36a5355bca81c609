"""Request bodies of the API: strict (unknown fields are refused) and bounded."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, StringConstraints

from contracts.subscription import Status

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=50)]
Text = Annotated[str, StringConstraints(max_length=500)]
LongText = Annotated[str, StringConstraints(max_length=5000)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def given(self) -> dict[str, Any]:
        """The fields the client sent, as JSON values (for partial updates)."""
        return self.model_dump(mode="json", include=self.model_fields_set)


class PartyIn(Body):
    """A contact or an organization."""

    name: Name
    email: Email | None = None
    phone: Phone | None = None
    address: Text | None = None


class PartyPatch(Body):
    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    address: Text | None = None


class EngineerIn(Body):
    name: Name
    email: Email | None = None


class EngineerPatch(Body):
    name: Name | None = None
    email: Email | None = None


class ServiceContractIn(Body):
    number: Name
    title: Name
    starts_on: date | None = None
    ends_on: date | None = None
    terms: LongText | None = None


class ServiceContractPatch(Body):
    number: Name | None = None
    title: Name | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    terms: LongText | None = None


class DeactivateIn(Body):
    reason: Text | None = None


class SubscriptionIn(Body):
    contact_id: UUID
    organization_id: UUID | None = None
    name: Name
    status: Status
    engineer_id: UUID
    service_contract_id: UUID | None = None
    description: LongText | None = None


class SubscriptionPatch(Body):
    name: Name | None = None
    description: LongText | None = None
    contact_id: UUID | None = None
    organization_id: UUID | None = None
    service_contract_id: UUID | None = None


class StatusIn(Body):
    status: Status
    reason: Text | None = None


class EngineerAssignmentIn(Body):
    engineer_id: UUID
