"""The NAS registry over HTTP: per tenant, the shared secret never answered back."""

from __future__ import annotations

import secrets

from tests.integration.conftest import ClientFactory

SECRET = "s3cret-of-the-router"


def _address() -> str:
    """An address of the test's own (addresses are unique across tenants)."""
    return "10." + ".".join(str(secrets.randbelow(250) + 1) for _ in range(3))


async def test_register_list_edit_and_remove(client_for: ClientFactory) -> None:
    api, other = await client_for(), await client_for()
    address = _address()
    body = {"name": "Tower 1", "address": address, "secret": SECRET, "type": "mikrotik"}
    created = await api.post("/api/v1/nas", json=body)
    assert created.status_code == 201, created.text
    nas = created.json()
    assert nas["coa_port"] == 3799 and nas["address"] == address and "secret" not in nas
    assert created.headers["location"] == f"/api/v1/nas/{nas['id']}"

    listed = await api.get("/api/v1/nas")
    assert [n["id"] for n in listed.json()["items"]] == [nas["id"]]
    assert SECRET not in listed.text
    assert (await other.get("/api/v1/nas")).json()["items"] == []
    assert (await other.get(f"/api/v1/nas/{nas['id']}")).status_code == 404

    taken = await other.post("/api/v1/nas", json={**body, "name": "Theirs"})
    assert taken.status_code == 409, taken.text

    edited = await api.patch(f"/api/v1/nas/{nas['id']}", json={"coa_port": 1700})
    assert edited.status_code == 200, edited.text
    assert edited.json()["coa_port"] == 1700 and edited.json()["name"] == "Tower 1"
    bad = await api.patch(f"/api/v1/nas/{nas['id']}", json={"address": "not an address"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["pointer"] == "/address"

    assert (await other.delete(f"/api/v1/nas/{nas['id']}")).status_code == 404
    assert (await api.delete(f"/api/v1/nas/{nas['id']}")).status_code == 200
    assert (await api.get(f"/api/v1/nas/{nas['id']}")).status_code == 404


async def test_pages_of_nas(client_for: ClientFactory) -> None:
    api = await client_for()
    for name in ("c", "a", "b"):
        body = {"name": name, "address": _address(), "secret": SECRET}
        assert (await api.post("/api/v1/nas", json=body)).status_code == 201
    first = (await api.get("/api/v1/nas", params={"limit": 2})).json()
    assert [n["name"] for n in first["items"]] == ["a", "b"]
    rest = (await api.get("/api/v1/nas", params={"cursor": first["next_cursor"]})).json()
    assert [n["name"] for n in rest["items"]] == ["c"] and rest["next_cursor"] is None


async def test_read_tokens_may_list_but_not_register(client_for: ClientFactory) -> None:
    reader = await client_for(role="read")
    body = {"name": "Tower", "address": _address(), "secret": SECRET}
    assert (await reader.post("/api/v1/nas", json=body)).status_code == 403
    assert (await reader.get("/api/v1/nas")).status_code == 200
