"""RADIUS credentials outside the event store: passwords as NT hashes, and the NAS registry.

Nothing here is logged: a password arrives, is hashed and only its hash is written; a NAS's
shared secret is written as it is (RADIUS needs it to sign and check packets) and never read
back by the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from Crypto.Hash import MD4

from contracts.radius import CredentialKind


def nt_hash(password: str) -> str:
    """NT hash of a password (MD4 of its UTF-16LE form), as FreeRADIUS's NT-Password wants it.

    One stored form that both PAP (the pap module hashes what the user sent) and MS-CHAPv1/v2
    (the mschap module computes the challenge response from it) accept, and no clear text.
    """
    return MD4.new(password.encode("utf-16-le")).hexdigest()


SET_PASSWORD = """
insert into credentials.passwords (tenant_id, item_id, subscription_id, kind, nt_hash, set_at,
                                   set_by)
values ($1, $2, $3, $4, $5, $6, $7)
on conflict (tenant_id, item_id) do update set
    subscription_id = excluded.subscription_id, kind = excluded.kind, nt_hash = excluded.nt_hash,
    set_at = excluded.set_at, set_by = excluded.set_by
"""

NAS_COLUMNS = "id, name, host(address) as address, type, coa_port, created_at, updated_at"
LIST_NAS = f"""
select {NAS_COLUMNS} from credentials.nas
where tenant_id = $1 and (name, id) > ($2, $3)
order by name, id limit $4
"""
GET_NAS = f"select {NAS_COLUMNS} from credentials.nas where tenant_id = $1 and id = $2"
ADD_NAS = f"""
insert into credentials.nas (id, tenant_id, name, address, secret, type, coa_port, created_at,
                             updated_at)
values ($1, $2, $3, $4::inet, $5, $6, $7, $8, $8)
returning {NAS_COLUMNS}
"""
# $3 name, $4 address, $5 secret, $6 type, $7 coa port: null keeps the stored value.
EDIT_NAS = f"""
update credentials.nas set
    name = coalesce($3, name), address = coalesce($4::inet, address),
    secret = coalesce($5, secret), type = coalesce($6, type), coa_port = coalesce($7, coa_port),
    updated_at = $8
where tenant_id = $1 and id = $2
returning {NAS_COLUMNS}
"""
REMOVE_NAS = "delete from credentials.nas where tenant_id = $1 and id = $2 returning id"


class AddressTaken(Exception):
    """Another NAS (of any tenant) has this address: FreeRADIUS knows a client by address."""


@dataclass(frozen=True)
class Nas:
    """A NAS as the API shows it: never its secret."""

    id: UUID
    name: str
    address: str
    type: str
    coa_port: int
    created_at: datetime
    updated_at: datetime


class Credentials:
    """Writes passwords and the NAS registry of a tenant, and reads the registry back."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def set_password(
        self,
        tenant_id: str,
        subscription_id: UUID,
        kind: CredentialKind,
        item_id: UUID,
        password: str,
        actor: str,
        at: datetime,
    ) -> None:
        """Keep the password's NT hash for the item; the next login checks against it."""
        await self._pool.execute(
            SET_PASSWORD, tenant_id, item_id, subscription_id, kind, nt_hash(password), at, actor
        )

    async def nas_list(
        self, tenant_id: str, after: tuple[str, UUID] | None, limit: int
    ) -> list[Nas]:
        """The tenant's NAS by name, after the (name, id) given."""
        name, nas_id = after or ("", UUID(int=0))
        rows = await self._pool.fetch(LIST_NAS, tenant_id, name, nas_id, limit)
        return [Nas(**dict(row)) for row in rows]

    async def nas(self, tenant_id: str, nas_id: UUID) -> Nas | None:
        """One NAS of the tenant, or None."""
        row = await self._pool.fetchrow(GET_NAS, tenant_id, nas_id)
        return None if row is None else Nas(**dict(row))

    async def add_nas(
        self, tenant_id: str, nas_id: UUID, values: dict[str, Any], at: datetime
    ) -> Nas:
        """Register a NAS; AddressTaken when its address is another NAS's."""
        args = (values["name"], values["address"], values["secret"], values["type"])
        try:
            row = await self._pool.fetchrow(
                ADD_NAS, nas_id, tenant_id, *args, values["coa_port"], at
            )
        except asyncpg.UniqueViolationError:
            raise AddressTaken(values["address"]) from None
        return Nas(**dict(row))

    async def edit_nas(
        self, tenant_id: str, nas_id: UUID, values: dict[str, Any], at: datetime
    ) -> Nas | None:
        """Change the fields given; None when the tenant has no such NAS."""
        fields = [values.get(k) for k in ("name", "address", "secret", "type", "coa_port")]
        try:
            row = await self._pool.fetchrow(EDIT_NAS, tenant_id, nas_id, *fields, at)
        except asyncpg.UniqueViolationError:
            raise AddressTaken(values["address"]) from None
        return None if row is None else Nas(**dict(row))

    async def remove_nas(self, tenant_id: str, nas_id: UUID) -> bool:
        """Remove a NAS; False when the tenant has no such NAS."""
        return await self._pool.fetchval(REMOVE_NAS, tenant_id, nas_id) is not None
