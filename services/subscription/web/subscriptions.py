"""The subscriptions list with its filters and exports, and the Add Subscription form."""

from __future__ import annotations

from dataclasses import dataclass, replace
from uuid import UUID, uuid4

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.datastructures import QueryParams

from contracts.subscription import Status
from services.subscription.access.tokens import Principal
from services.subscription.read import plans as plan_queries
from services.subscription.read import subscriptions as views
from services.subscription.read.queries import parse_sort
from services.subscription.usecases import exports
from services.subscription.usecases.exports import Download
from services.subscription.usecases.inputs import SubscriptionIn
from services.subscription.web import bulk, pickers
from services.subscription.web.choices import Option
from services.subscription.web.fields import NEW_SUBSCRIPTION, Field
from services.subscription.web.forms import (
    Rejected,
    body,
    carried_out,
    page_call,
    validated,
    values,
)
from services.subscription.web.pages import caught_up, posted, render, see_other, with_query
from services.subscription.web.session import SignedIn, Writer

router = APIRouter(prefix="/admin/subscriptions", include_in_schema=False)

PAGE_SIZE = 50
STATUSES = [s.value for s in Status]
FIELDS = [f.name for f in NEW_SUBSCRIPTION]
# The list's engineer filter: a picker over every engineer, deactivated ones too (a subscription
# keeps one who has left), and its "Find engineer" without JavaScript.
ENGINEER = Field("engineer_id", "Engineer")
FIND_ENGINEER = f"pick:{ENGINEER.name}"
# The plan filter is a select: a catalogue holds dozens of plans, not a directory's 100,000.
PLAN_CHOICES = 200
PLANS_BY_NAME = parse_sort("name", plan_queries.SORTS, plan_queries.DEFAULT_SORT)


@dataclass(frozen=True)
class Filters:
    """The list's filters as the page shows them; a value that is not one is ignored."""

    status: str = ""
    engineer_id: str = ""
    q: str = ""
    overdue: str = ""  # "true", "false" or "" (either)
    plan_id: str = ""

    @classmethod
    def of(cls, params: QueryParams) -> Filters:
        status = params.get("status", "")
        engineer = params.get("engineer_id", "")
        overdue = params.get("overdue", "")
        plan = params.get("plan_id", "")
        return cls(
            status=status if status in STATUSES else "",
            engineer_id=engineer if _is_uuid(engineer) else "",
            q=params.get("q", "").strip()[:200],
            overdue=overdue if overdue in ("true", "false") else "",
            plan_id=plan if _is_uuid(plan) else "",
        )

    def query(self) -> dict[str, str]:
        return {
            "status": self.status,
            "engineer_id": self.engineer_id,
            "q": self.q,
            "overdue": self.overdue,
            "plan_id": self.plan_id,
        }

    def selection(self) -> exports.Selection:
        """The filters as the list and the exports take them."""
        return exports.selection(
            status=[Status(self.status)] if self.status else None,
            engineer_id=UUID(self.engineer_id) if self.engineer_id else None,
            q=self.q or None,
            overdue={"true": True, "false": False}.get(self.overdue),
            plan_id=UUID(self.plan_id) if self.plan_id else None,
        )

    def read_models(self) -> list[str]:
        """The read models the filters read: the list's, and the account's or services'."""
        return ["subscriptions"] + ["account"] * bool(self.overdue) + ["inner"] * bool(self.plan_id)


@router.get("")
async def listing(request: Request, principal: SignedIn, cursor: str | None = None) -> Response:
    params = request.query_params
    filters = Filters.of(params)
    searched = pickers.searches(params, [ENGINEER.name])
    if params.get("then") == FIND_ENGINEER:  # to the choose page, back with the filters kept
        kept = {k: v for k, v in filters.query().items() if k != ENGINEER.name}
        away = pickers.detour(FIND_ENGINEER, kept, searched, request.url.path, inactive=True)
        return see_other(away or request.url.path)
    chosen = {ENGINEER.name: filters.engineer_id}
    errors = pickers.unchosen(chosen, searched, add=False)
    filters = replace(filters, engineer_id=chosen[ENGINEER.name])
    current = await caught_up(request, *filters.read_models())
    selected = filters.selection()
    pool = request.app.state.pool
    try:
        page = await views.list_subscriptions(
            pool, principal.tenant_id, selected.filters, selected.sort, cursor, PAGE_SIZE
        )
    except ValueError:  # a cursor that is not ours: start from the first page
        page = await views.list_subscriptions(
            pool, principal.tenant_id, selected.filters, selected.sort, None, PAGE_SIZE
        )
        cursor = None
    return render(
        request,
        "list.html",
        422 if errors else 200,
        filters=filters,
        statuses=STATUSES,
        plans=await _plan_filter(pool, principal.tenant_id),
        engineer=ENGINEER,
        # The box shows the engineer filtered by, or what was typed with none chosen.
        labels=searched | await pickers.labels(pool, principal.tenant_id, chosen),
        errors=errors,
        items=page.items,
        paged=cursor is not None,
        first_page=with_query(request.url.path, **filters.query()),
        next_page=page.next_cursor
        and with_query(request.url.path, **filters.query(), cursor=page.next_cursor),
        export_csv=with_query(f"{request.url.path}/export.csv", **filters.query()),
        export_xlsx=with_query(f"{request.url.path}/export.xlsx", **filters.query()),
        current=current,
        # No "all matching" over a filter that left out the engineer typed.
        bulk=None
        if errors
        else await bulk.list_choices(
            pool,
            principal,
            selected.filters,
            len(page.items),
            whole=cursor is None and page.next_cursor is None,
        ),
    )


@router.get("/export.csv")
async def export_csv(request: Request, principal: SignedIn) -> Response:
    filters = Filters.of(request.query_params)
    await caught_up(request, *filters.read_models())
    selected = filters.selection()
    return _streamed(exports.csv_download(request.app.state.pool, principal.tenant_id, selected))


@router.get("/export.xlsx")
async def export_xlsx(request: Request, principal: SignedIn) -> Response:
    filters = Filters.of(request.query_params)
    await caught_up(request, *filters.read_models())
    selected = filters.selection()
    pool = request.app.state.pool
    return _streamed(await exports.xlsx_download(pool, principal.tenant_id, selected))


@router.get("/new")
async def new_form(request: Request, principal: Writer, saved: str | None = None) -> Response:
    # Back from choosing or adding an entry (pickers.py): the form as it was left, that entry in.
    given = request.query_params
    typed = {name: given[name][:5000] for name in FIELDS if name in given}
    return await _form(request, principal, typed=typed or None, saved=saved)


@router.post("/new")
async def create(request: Request, principal: Writer) -> Response:
    form = await posted(request)
    typed = values(form, FIELDS)
    searched = pickers.searches(form, FIELDS)
    unchosen = pickers.unchosen(typed, searched)
    then = str(form.get("then") or "")
    away = pickers.detour(then, typed, searched, f"{router.prefix}/new")
    if away:  # "Find" or "Add a …" beside a picker, without saving
        return see_other(away)
    key = str(form.get("form_key") or "")
    then_new = then == "new"
    cases = request.app.state.usecases
    try:
        data = validated(SubscriptionIn, body(typed))
        if unchosen:
            raise Rejected(422, unchosen)
        result = await carried_out(
            request, cases.subscriptions.create(page_call(principal, key), data)
        )
    except Rejected as refused:
        refused.fields.update(unchosen)
        return await _form(request, principal, 422, typed, refused, form_key=key, searched=searched)
    if then_new:
        return see_other(with_query(f"{router.prefix}/new", saved=result.body["unique_id"]))
    return see_other(f"{router.prefix}/{result.body['id']}")


async def _form(
    request: Request,
    principal: Principal,
    status: int = 200,
    typed: dict[str, str] | None = None,
    refused: Rejected | None = None,
    *,
    saved: str | None = None,
    form_key: str | None = None,
    searched: dict[str, str] | None = None,
) -> Response:
    await caught_up(request, "directory")
    shown = typed or {"status": "Active"}
    pool = request.app.state.pool
    return render(
        request,
        "new.html",
        status,
        fields=NEW_SUBSCRIPTION,
        pickers=pickers.PICKED,
        values=shown,
        # The pickers' boxes: what was typed in them, or the names of the entries chosen.
        labels=await pickers.labels(pool, principal.tenant_id, shown) | (searched or {}),
        errors=refused.fields if refused else {},
        message=refused.message if refused else None,
        saved=saved,
        form_key=form_key or str(uuid4()),
    )


def _streamed(download: Download) -> StreamingResponse:
    return StreamingResponse(
        download.chunks, media_type=download.media_type, headers=download.headers
    )


async def _plan_filter(pool: asyncpg.Pool, tenant_id: str) -> list[Option]:
    """The plan filter's choices: the catalogue by name, retired plans too (their services keep
    them); the first PLAN_CHOICES."""
    page = await plan_queries.list_plans(
        pool, tenant_id, None, None, PLANS_BY_NAME, None, PLAN_CHOICES
    )
    return [
        Option(str(p["id"]), f"{p['name']} (retired)" if p["retired"] else str(p["name"]))
        for p in page.items
    ]


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True
