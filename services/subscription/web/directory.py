"""Administration → Contacts, Organizations, Engineers, Service Contracts: each kind's list with
search and paging, an entry's page with the subscriptions that refer to it, and adding,
editing, deactivating and reactivating entries through the same use cases as the API.

Adding an entry may be a detour from the Add Subscription form (detours.py): it then goes back
to that form with the new entry chosen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Request
from fastapi.responses import Response

from contracts.commands import DirectoryKind
from services.subscription.access.tokens import Principal
from services.subscription.read import directory as entries
from services.subscription.read import subscriptions as views
from services.subscription.read.queries import Sort, parse_sort
from services.subscription.usecases.inputs import (
    Body,
    DeactivateIn,
    EngineerIn,
    PartyIn,
    ReactivateIn,
    ServiceContractIn,
)
from services.subscription.web.detours import Detour
from services.subscription.web.fields import Field
from services.subscription.web.forms import Rejected, body, carried_out, page_call, validated
from services.subscription.web.pages import caught_up, posted, render, see_other, with_query
from services.subscription.web.session import PageError, SignedIn, Writer

PAGE_SIZE = 50
SHOW = {"active": True, "inactive": False, "all": None}
BY_NAME = parse_sort("name", entries.SORTS, entries.DEFAULT_SORT)
NEWEST = Sort("created_at", descending=True)
DATE_HINT = "YYYY-MM-DD"

PARTY = (
    Field("name", "Name", required=True),
    Field("email", "Email"),
    Field("phone", "Phone"),
    Field("address", "Address", "textarea"),
)
ENGINEER = (Field("name", "Name", required=True), Field("email", "Email"))
SERVICE_CONTRACT = (
    Field("number", "Number", required=True),
    Field("title", "Title", required=True),
    Field("starts_on", "Starts on", hint=DATE_HINT),
    Field("ends_on", "Ends on", hint=DATE_HINT),
    Field("terms", "Terms", "textarea"),
)


@dataclass(frozen=True)
class Kind:
    """One kind of directory entry as the pages show it."""

    kind: DirectoryKind
    path: str  # under /admin/, the API's collection name
    title: str
    noun: str
    fields: tuple[Field, ...]
    model: type[Body]
    refers: str  # the subscriptions' field that names an entry of the kind

    @property
    def prefix(self) -> str:
        return f"/admin/{self.path}"

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]


KINDS = (
    Kind("contact", "contacts", "Contacts", "contact", PARTY, PartyIn, "contact_id"),
    Kind(
        "organization", "organizations", "Organizations", "organization", PARTY, PartyIn,
        "organization_id",
    ),
    Kind("engineer", "engineers", "Engineers", "engineer", ENGINEER, EngineerIn, "engineer_id"),
    Kind(
        "service_contract", "service-contracts", "Service Contracts", "service contract",
        SERVICE_CONTRACT, ServiceContractIn, "service_contract_id",
    ),
)  # fmt: skip
BY_PATH = {k.path: k for k in KINDS}
BY_FIELD = {k.refers: k for k in KINDS}


def label(kind: str, entry: dict[str, Any]) -> str:
    """How a form and a picker name an entry: its name, a contract's number and title."""
    if kind == "service_contract":
        return f"{entry['number']} — {entry['title']}"
    return str(entry["name"])


def detail(kind: str, entry: dict[str, Any]) -> str:
    """What tells two entries of the same name apart in a picker."""
    if kind == "service_contract":
        dates = [str(entry[d]) for d in ("starts_on", "ends_on") if entry.get(d)]
        return " to ".join(dates)
    return str(entry.get("email") or entry.get("phone") or "")


def router_for(k: Kind) -> APIRouter:
    """The pages of one kind of entry."""
    router = APIRouter(prefix=k.prefix, include_in_schema=False)

    @router.get("")
    async def listing(request: Request, principal: SignedIn, cursor: str | None = None) -> Response:
        params = request.query_params
        q = params.get("q", "").strip()[:200]
        show = params.get("show", "active") if params.get("show") in SHOW else "active"
        current = await caught_up(request, "directory")
        pool, tenant_id = request.app.state.pool, principal.tenant_id
        try:
            page = await entries.list_entries(
                pool, tenant_id, k.kind, q, SHOW[show], BY_NAME, cursor, PAGE_SIZE
            )
        except ValueError:  # a cursor that is not ours: the first page
            page = await entries.list_entries(
                pool, tenant_id, k.kind, q, SHOW[show], BY_NAME, None, PAGE_SIZE
            )
            cursor = None
        return render(
            request,
            "directory_list.html",
            kind=k,
            q=q,
            show=show,
            items=page.items,
            paged=cursor is not None,
            first_page=with_query(k.prefix, q=q, show=show),
            next_page=page.next_cursor
            and with_query(k.prefix, q=q, show=show, cursor=page.next_cursor),
            current=current,
        )

    @router.get("/new")
    async def new_form(request: Request, principal: Writer) -> Response:
        typed = {name: request.query_params.get(name, "")[:200] for name in k.names}
        return _form(request, k, None, typed, detour=Detour.of(request.query_params))

    @router.post("/new")
    async def register(request: Request, principal: Writer) -> Response:
        form = await posted(request)
        typed = _typed(form, k)
        detour, key = Detour.of(form), str(form.get("form_key") or "")
        cases = request.app.state.usecases
        try:
            data = validated(k.model, body(typed))
            call = page_call(principal, key)
            result = await carried_out(request, cases.directory.register(call, k.kind, data))
        except Rejected as refused:
            return _form(request, k, None, typed, refused, detour=detour, form_key=key)
        if detour:
            return see_other(detour.returning(result.body["id"]))
        return see_other(with_query(f"{k.prefix}/{result.body['id']}", saved="added"))

    @router.get("/{entry_id:uuid}")
    async def entry_page(
        request: Request, entry_id: UUID, principal: SignedIn, cursor: str | None = None
    ) -> Response:
        return await _entry_page(request, principal, k, entry_id, cursor)

    @router.get("/{entry_id:uuid}/edit")
    async def edit_form(request: Request, entry_id: UUID, principal: Writer) -> Response:
        await caught_up(request, "directory")
        entry = await _entry(request, principal, k, entry_id)
        typed = {name: "" if entry[name] is None else str(entry[name]) for name in k.names}
        return _form(request, k, entry, typed)

    @router.post("/{entry_id:uuid}/edit")
    async def edit(request: Request, entry_id: UUID, principal: Writer) -> Response:
        form = await posted(request)
        typed = _typed(form, k)
        cases = request.app.state.usecases
        try:
            # Every field is sent: one left blank is cleared, as `null` in an API PATCH.
            data = validated(k.model, {n: v.strip() or None for n, v in typed.items()})
            edited = cases.directory.edit(page_call(principal), k.kind, entry_id, data)
            await carried_out(request, edited)
        except Rejected as refused:
            entry = await _entry(request, principal, k, entry_id)
            return _form(request, k, entry, typed, refused)
        return see_other(with_query(f"{k.prefix}/{entry_id}", saved="edited"))

    @router.post("/{entry_id:uuid}/deactivate")
    async def deactivate(request: Request, entry_id: UUID, principal: Writer) -> Response:
        form = await posted(request)
        reason = str(form.get("reason") or "").strip()
        cases = request.app.state.usecases
        try:
            data = validated(DeactivateIn, {"reason": reason} if reason else {})
            done = cases.directory.deactivate(page_call(principal), k.kind, entry_id, data)
            await carried_out(request, done)
        except Rejected as refused:
            return await _entry_page(request, principal, k, entry_id, None, refused, reason)
        return see_other(with_query(f"{k.prefix}/{entry_id}", saved="deactivated"))

    @router.post("/{entry_id:uuid}/reactivate")
    async def reactivate(request: Request, entry_id: UUID, principal: Writer) -> Response:
        await posted(request)
        cases = request.app.state.usecases
        try:
            data = validated(ReactivateIn, {})
            done = cases.directory.reactivate(page_call(principal), k.kind, entry_id, data)
            await carried_out(request, done)
        except Rejected as refused:
            return await _entry_page(request, principal, k, entry_id, None, refused)
        return see_other(with_query(f"{k.prefix}/{entry_id}", saved="reactivated"))

    return router


async def _entry_page(
    request: Request,
    principal: Principal,
    k: Kind,
    entry_id: UUID,
    cursor: str | None,
    refused: Rejected | None = None,
    reason: str = "",
) -> Response:
    """An entry, what may be done with it, and the subscriptions that refer to it."""
    current = await caught_up(request, "directory", "subscriptions")
    entry = await _entry(request, principal, k, entry_id)
    pool, filters = request.app.state.pool, {k.refers: entry_id}
    try:
        page = await views.list_subscriptions(
            pool, principal.tenant_id, filters, NEWEST, cursor, PAGE_SIZE
        )
    except ValueError:
        page = await views.list_subscriptions(
            pool, principal.tenant_id, filters, NEWEST, None, PAGE_SIZE
        )
        cursor = None
    here = f"{k.prefix}/{entry_id}"
    return render(
        request,
        "directory_entry.html",
        refused.status if refused else 200,
        kind=k,
        entry=entry,
        saved=request.query_params.get("saved") if not refused else None,
        errors=refused.fields if refused else {},
        message=refused.message if refused else None,
        reason=reason,
        subscriptions=page.items,
        paged=cursor is not None,
        first_page=here,
        next_page=page.next_cursor and with_query(here, cursor=page.next_cursor),
        current=current,
    )


def _form(
    request: Request,
    k: Kind,
    entry: dict[str, Any] | None,
    typed: dict[str, str],
    refused: Rejected | None = None,
    *,
    detour: Detour | None = None,
    form_key: str | None = None,
) -> Response:
    """The add form (no entry) or the edit form of an entry."""
    return render(
        request,
        "directory_form.html",
        refused.status if refused else 200,
        kind=k,
        entry=entry,
        values=typed,
        errors=refused.fields if refused else {},
        message=refused.message if refused else None,
        detour=detour,
        form_key=form_key or str(uuid4()),
    )


async def _entry(request: Request, principal: Principal, k: Kind, entry_id: UUID) -> dict[str, Any]:
    entry = await entries.get_entry(request.app.state.pool, principal.tenant_id, k.kind, entry_id)
    if entry is None:
        raise PageError(404, "Not found", f"There is no such {k.noun}.")
    return entry


def _typed(form: Any, k: Kind) -> dict[str, str]:
    return {name: str(form.get(name) or "") for name in k.names}


routers = [router_for(k) for k in KINDS]
