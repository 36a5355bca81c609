"""Events of the directory streams a subscription refers to.

Contacts, organizations, engineers and service contracts are registered, edited, deactivated and
reactivated; a deactivated entry cannot be newly referenced and existing subscriptions keep it.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from contracts.base import Event, FieldChange


class _PartyFields(Event):
    name: str
    email: str | None = None
    phone: str | None = None
    address: str | None = None


class _EngineerFields(Event):
    name: str
    email: str | None = None


class _ServiceContractFields(Event):
    number: str
    title: str
    starts_on: date | None = None
    ends_on: date | None = None
    terms: str | None = None


class _Edited(Event):
    changes: dict[str, FieldChange] = Field(description="Edited fields with old and new values")


class _Deactivated(Event):
    reason: str | None = None


class _Reactivated(Event):
    reason: str | None = None


class ContactRegistered(_PartyFields):
    type: Literal["contact.registered"] = "contact.registered"


class ContactEdited(_Edited):
    type: Literal["contact.edited"] = "contact.edited"


class ContactDeactivated(_Deactivated):
    type: Literal["contact.deactivated"] = "contact.deactivated"


class ContactReactivated(_Reactivated):
    type: Literal["contact.reactivated"] = "contact.reactivated"


class OrganizationRegistered(_PartyFields):
    type: Literal["organization.registered"] = "organization.registered"


class OrganizationEdited(_Edited):
    type: Literal["organization.edited"] = "organization.edited"


class OrganizationDeactivated(_Deactivated):
    type: Literal["organization.deactivated"] = "organization.deactivated"


class OrganizationReactivated(_Reactivated):
    type: Literal["organization.reactivated"] = "organization.reactivated"


class EngineerRegistered(_EngineerFields):
    type: Literal["engineer.registered"] = "engineer.registered"


class EngineerEdited(_Edited):
    type: Literal["engineer.edited"] = "engineer.edited"


class EngineerDeactivated(_Deactivated):
    type: Literal["engineer.deactivated"] = "engineer.deactivated"


class EngineerReactivated(_Reactivated):
    type: Literal["engineer.reactivated"] = "engineer.reactivated"


class ServiceContractRegistered(_ServiceContractFields):
    type: Literal["service_contract.registered"] = "service_contract.registered"


class ServiceContractEdited(_Edited):
    type: Literal["service_contract.edited"] = "service_contract.edited"


class ServiceContractDeactivated(_Deactivated):
    type: Literal["service_contract.deactivated"] = "service_contract.deactivated"


class ServiceContractReactivated(_Reactivated):
    type: Literal["service_contract.reactivated"] = "service_contract.reactivated"


DirectoryEvent = (
    ContactRegistered
    | ContactEdited
    | ContactDeactivated
    | ContactReactivated
    | OrganizationRegistered
    | OrganizationEdited
    | OrganizationDeactivated
    | OrganizationReactivated
    | EngineerRegistered
    | EngineerEdited
    | EngineerDeactivated
    | EngineerReactivated
    | ServiceContractRegistered
    | ServiceContractEdited
    | ServiceContractDeactivated
    | ServiceContractReactivated
)
