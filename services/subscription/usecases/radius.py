"""Use cases of RADIUS: passwords of PPPoE logins and hotspot accounts, the NAS registry.

A password goes from the request to its NT hash and nowhere else: the command and its event
only say that one was set (and the envelope by whom), and nothing here logs it.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID, uuid4

from pydantic import AfterValidator, Field, StringConstraints

from contracts.radius import CredentialKind, SetPassword
from contracts.values import parse_ip
from services.subscription.domain.errors import Conflict, NotFound
from services.subscription.usecases.calls import CHANGED, Call, Result, Runner, item, now
from services.subscription.usecases.inputs import Body, Name, partial
from services.subscription.write.credentials import AddressTaken, Credentials, Nas
from services.subscription.write.handlers import Context, Handlers, Outcome

Password = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Secret = Annotated[str, StringConstraints(min_length=6, max_length=128, pattern=r"^[!-~]+$")]
Address = Annotated[str, StringConstraints(max_length=64), AfterValidator(parse_ip)]
NasType = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[a-z0-9_-]+$"),
]
Port = Annotated[int, Field(ge=1, le=65535)]


class PasswordIn(Body):
    """A new password for a PPPoE login or a hotspot account (never stored as sent)."""

    password: Password


class NasIn(Body):
    """A router (NAS) of the tenant that asks FreeRADIUS: its address and shared secret."""

    name: Name
    address: Address
    secret: Secret
    type: NasType = "other"
    coa_port: Port = 3799  # RFC 5176's port; MikroTik often listens on 1700


NasPatch = partial(NasIn, "NasPatch")


class Radius:
    """Passwords and the NAS registry, for a caller."""

    def __init__(self, runner: Runner, handlers: Handlers, credentials: Credentials) -> None:
        self._runner = runner
        self._handlers = handlers
        self._credentials = credentials

    async def set_password(
        self,
        call: Call,
        subscription_id: UUID,
        kind: CredentialKind,
        item_id: UUID,
        data: PasswordIn,
    ) -> Result:
        """Record that the item's password was set, then keep its hash: the next login uses it.

        The event is appended first, so a password is only kept for an item of an open
        subscription that the decider found.
        """
        command = SetPassword(
            subscription_id=subscription_id, kind=kind, item_id=item_id, now=now()
        )

        async def send(ctx: Context) -> Outcome:
            return await self._handlers.password(ctx, command)

        result = await self._runner.run(call, send, item(CHANGED, item_id))
        await self._credentials.set_password(
            call.tenant_id, subscription_id, kind, item_id, data.password, call.actor, command.now
        )
        return result

    async def nas_list(
        self, tenant_id: str, after: tuple[str, UUID] | None, limit: int
    ) -> list[Nas]:
        """The tenant's NAS by name, after the (name, id) given."""
        return await self._credentials.nas_list(tenant_id, after, limit)

    async def nas(self, tenant_id: str, nas_id: UUID) -> Nas:
        """One NAS of the tenant."""
        found = await self._credentials.nas(tenant_id, nas_id)
        if found is None:
            raise NotFound(f"NAS {nas_id} not found")
        return found

    async def add_nas(self, call: Call, data: NasIn) -> Nas:
        """Register a NAS; 409 when its address is another NAS's."""
        try:
            return await self._credentials.add_nas(
                call.tenant_id, uuid4(), data.model_dump(), now()
            )
        except AddressTaken:
            raise Conflict(f"address {data.address} is already a NAS", "/address") from None

    async def edit_nas(self, call: Call, nas_id: UUID, data: Body) -> Nas:
        """Change the fields sent (a secret sent replaces the stored one)."""
        values = data.model_dump(include=data.model_fields_set)
        try:
            edited = await self._credentials.edit_nas(call.tenant_id, nas_id, values, now())
        except AddressTaken:
            raise Conflict(
                f"address {values.get('address')} is already a NAS", "/address"
            ) from None
        if edited is None:
            raise NotFound(f"NAS {nas_id} not found")
        return edited

    async def remove_nas(self, call: Call, nas_id: UUID) -> None:
        """Forget a NAS: FreeRADIUS no longer answers it once started again (seconds)."""
        if not await self._credentials.remove_nas(call.tenant_id, nas_id):
            raise NotFound(f"NAS {nas_id} not found")
