"""Pickers of directory entries that scale to 100,000 contacts: the forms' contact,
organization, engineer and service contract fields search as you type.

- `GET /admin/pick/{collection}.json?q=` answers the first active matches by name as JSON
  (`{"items": [{"id", "label", "detail"}]}`) for static/picker.js, with the session cookie;
- without JavaScript, the form's "Find" button (`then=pick:<field>`) leaves for
  `GET /admin/pick/{collection}?q=&field=&back=`, a search-and-choose page whose "Choose" links
  go back to the form with the entry chosen and what was typed kept (detours.py); "Add a …"
  (`then=add:<field>`) does the same through the entry's add form;
- `show=all` on either lists deactivated entries too, for a filter (the list's engineer, who may
  have left) rather than a new reference.

Both read the directory read model (read/directory.py, trigram-indexed search). The template
macro is `picker` in templates/pickers.html; a form handler calls `detour` and `unchosen`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from services.subscription.read import directory as entries
from services.subscription.web.detours import Detour, back_to
from services.subscription.web.directory import BY_FIELD, BY_NAME, BY_PATH, Kind, detail, label
from services.subscription.web.pages import caught_up, render, templates, with_query
from services.subscription.web.session import PageError, SignedIn

router = APIRouter(prefix="/admin/pick", include_in_schema=False)
PICKED = frozenset(BY_FIELD)  # the form fields a picker stands for
MATCHES = 20  # a type-ahead list
PAGE_SIZE = 50  # the page without JavaScript
SEARCH_SUFFIX = "_search"  # the visible text box beside the field's hidden id
EVERY = "all"  # `show=all`: deactivated entries too

# What the `picker` macro needs of each field it may stand for.
templates.env.globals["picker_kinds"] = {
    field: {"path": k.path, "noun": k.noun} for field, k in BY_FIELD.items()
}


@router.get("/{collection}.json")
async def matches(request: Request, collection: str, principal: SignedIn) -> Response:
    k = _kind(collection)
    q = request.query_params.get("q", "").strip()[:200]
    active = _active(request.query_params)
    await caught_up(request, "directory")
    page = await entries.list_entries(
        request.app.state.pool, principal.tenant_id, k.kind, q, active, BY_NAME, None, MATCHES
    )
    items = [
        {"id": str(e["id"]), "label": label(k.kind, e), "detail": _detail(k, e)} for e in page.items
    ]
    return JSONResponse({"items": items}, headers={"Cache-Control": "no-store"})


@router.get("/{collection}")
async def choose_page(
    request: Request, collection: str, principal: SignedIn, cursor: str | None = None
) -> Response:
    # A read token may choose too: the list's engineer filter is a picker.
    k = _kind(collection)
    q = request.query_params.get("q", "").strip()[:200]
    active = _active(request.query_params)
    detour = Detour.of(request.query_params)
    await caught_up(request, "directory")
    pool = request.app.state.pool
    try:
        page = await entries.list_entries(
            pool, principal.tenant_id, k.kind, q, active, BY_NAME, cursor, PAGE_SIZE
        )
    except ValueError:
        page = await entries.list_entries(
            pool, principal.tenant_id, k.kind, q, active, BY_NAME, None, PAGE_SIZE
        )
        cursor = None
    way = detour.query() if detour else {}
    listed = {**way, "show": "" if active else EVERY}  # the search's own links keep `show`
    return render(
        request,
        "pick.html",
        kind=k,
        q=q,
        detour=detour,
        every=active is None,
        found=[
            {
                "label": label(k.kind, e),
                "detail": _detail(k, e),
                "choose": detour.returning(e["id"]) if detour else f"{k.prefix}/{e['id']}",
            }
            for e in page.items
        ],
        add=principal.can_write and with_query(f"{k.prefix}/new", **way, **_prefill(k, q)),
        paged=cursor is not None,
        first_page=with_query(request.url.path, q=q, **listed),
        next_page=page.next_cursor
        and with_query(request.url.path, q=q, **listed, cursor=page.next_cursor),
    )


def detour(
    then: str,
    typed: Mapping[str, str],
    searches: Mapping[str, str],
    form_path: str,
    *,
    inactive: bool = False,
) -> str | None:
    """Where a form's `then=pick:<field>` or `then=add:<field>` button goes (None for any other
    `then`): the choose page or the add form of the field's kind, then back to `form_path`
    with `typed` kept."""
    return away(then, back_to(form_path, typed), searches, inactive=inactive)


def away(
    then: str, back: str, searches: Mapping[str, str], *, inactive: bool = False
) -> str | None:
    """`detour` for a form that builds its own way `back` (a page of these pages; repeated
    fields, as ticked rows are, kept); `inactive`: deactivated entries may be chosen too."""
    action, _, field = then.partition(":")
    k = BY_FIELD.get(field)
    if action not in ("pick", "add") or k is None:
        return None
    way = Detour(field, back).query()
    q = searches.get(field, "").strip()[:200]
    if action == "pick":
        return with_query(f"{router.prefix}/{k.path}", q=q, **way, show=EVERY if inactive else "")
    return with_query(f"{k.prefix}/new", **way, **_prefill(k, q))


def searches(form: Mapping[str, Any], fields: list[str]) -> dict[str, str]:
    """The text typed in each picker's box, by the field's name (a form without the box, as a
    script may post, sends the id alone)."""
    return {
        name: str(form.get(name + SEARCH_SUFFIX) or "")
        for name in fields
        if name in BY_FIELD and name + SEARCH_SUFFIX in form
    }


def unchosen(
    typed: dict[str, str], typed_searches: Mapping[str, str], *, add: bool = True
) -> dict[str, str]:
    """Reconcile each picker's box with its hidden id: an emptied box clears the field; text
    with no entry chosen (typed without JavaScript, or never picked) is the field's error
    (`add`: the picker offers "Add a …")."""
    errors = {}
    for field, text in typed_searches.items():
        if not text.strip():
            typed[field] = ""
        elif not typed.get(field):
            noun = BY_FIELD[field].noun
            article = "an" if noun[0] in "aeiou" else "a"
            instead = "add one" if add else "clear the box"
            errors[field] = f"Choose {article} {noun} from the matches (Find), or {instead}."
    return errors


async def labels(pool: asyncpg.Pool, tenant_id: str, typed: Mapping[str, str]) -> dict[str, str]:
    """What each picker's box shows for the entry chosen in its field (by id)."""
    shown = {}
    for field, k in BY_FIELD.items():
        entry_id = _uuid(typed.get(field, ""))
        if entry_id is None:
            continue
        entry = await entries.get_entry(pool, tenant_id, k.kind, entry_id)
        if entry is not None:
            shown[field] = label(k.kind, entry)
    return shown


def _kind(collection: str) -> Kind:
    k = BY_PATH.get(collection)
    if k is None:
        raise PageError(404, "Not found", "There is no such list to choose from.")
    return k


def _active(params: Mapping[str, str]) -> bool | None:
    """Active entries only, or every entry (`show=all`)."""
    return None if params.get("show") == EVERY else True


def _detail(k: Kind, entry: dict[str, Any]) -> str:
    """The entry's detail, saying so when it is deactivated (listed with `show=all` only)."""
    shown = detail(k.kind, entry)
    if entry.get("active", True):
        return shown
    return f"{shown} · deactivated" if shown else "deactivated"


def _prefill(k: Kind, q: str) -> dict[str, str]:
    """The add form begins with what was searched for, as the new entry's name."""
    return {"number" if k.kind == "service_contract" else "name": q} if q else {}


def _uuid(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None
