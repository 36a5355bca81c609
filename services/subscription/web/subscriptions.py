"""The subscriptions list with its filters and exports, and the Add Subscription form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import QueryParams

from contracts.subscription import Status
from services.subscription.access.tokens import Principal
from services.subscription.api import exports
from services.subscription.api.schemas import SubscriptionIn
from services.subscription.api.subscriptions import create_command
from services.subscription.read import subscriptions as views
from services.subscription.web import choices
from services.subscription.web.fields import NEW_SUBSCRIPTION
from services.subscription.web.forms import Rejected, body, run, validated, values
from services.subscription.web.pages import caught_up, posted, render, see_other, with_query
from services.subscription.web.session import SignedIn, Writer
from services.subscription.write.eventstore import AlreadyAnswered, IdempotencyKey

router = APIRouter(prefix="/admin/subscriptions", include_in_schema=False)

PAGE_SIZE = 50
STATUSES = [s.value for s in Status]
FIELDS = [f.name for f in NEW_SUBSCRIPTION]


@dataclass(frozen=True)
class Filters:
    """The list's filters as the page shows them; a value that is not one is ignored."""

    status: str = ""
    engineer_id: str = ""
    q: str = ""

    @classmethod
    def of(cls, params: QueryParams) -> Filters:
        status = params.get("status", "")
        engineer = params.get("engineer_id", "")
        return cls(
            status=status if status in STATUSES else "",
            engineer_id=engineer if _is_uuid(engineer) else "",
            q=params.get("q", "").strip()[:200],
        )

    def query(self) -> dict[str, str]:
        return {"status": self.status, "engineer_id": self.engineer_id, "q": self.q}

    async def selection(self) -> exports.Selection:
        """The filters as the API's list and exports take them."""
        return await exports.selection(
            status=[Status(self.status)] if self.status else None,
            engineer_id=UUID(self.engineer_id) if self.engineer_id else None,
            q=self.q or None,
        )


@router.get("")
async def listing(request: Request, principal: SignedIn, cursor: str | None = None) -> Response:
    filters = Filters.of(request.query_params)
    current = await caught_up(request, "subscriptions")
    selected = await filters.selection()
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
        filters=filters,
        statuses=STATUSES,
        engineers=await choices.options(pool, principal.tenant_id, "engineer", active_only=False),
        items=page.items,
        paged=cursor is not None,
        first_page=with_query(request.url.path, **filters.query()),
        next_page=page.next_cursor
        and with_query(request.url.path, **filters.query(), cursor=page.next_cursor),
        export_csv=with_query(f"{request.url.path}/export.csv", **filters.query()),
        export_xlsx=with_query(f"{request.url.path}/export.xlsx", **filters.query()),
        current=current,
    )


@router.get("/export.csv")
async def export_csv(request: Request, principal: SignedIn) -> Response:
    await caught_up(request, "subscriptions")
    selected = await Filters.of(request.query_params).selection()
    return exports.csv_response(request.app.state.pool, principal.tenant_id, selected)


@router.get("/export.xlsx")
async def export_xlsx(request: Request, principal: SignedIn) -> Response:
    await caught_up(request, "subscriptions")
    selected = await Filters.of(request.query_params).selection()
    return await exports.xlsx_response(request.app.state.pool, principal.tenant_id, selected)


@router.get("/new")
async def new_form(request: Request, principal: Writer, saved: str | None = None) -> Response:
    return await _form(request, principal, saved=saved)


@router.post("/new")
async def create(request: Request, principal: Writer) -> Response:
    form = await posted(request)
    typed = values(form, FIELDS)
    key = str(form.get("form_key") or "")
    then_new = form.get("then") == "new"
    try:
        created = await _create(request, principal, typed, key)
    except Rejected as refused:
        return await _form(request, principal, 422, typed, refused, form_key=key)
    if then_new:
        return see_other(with_query(f"{router.prefix}/new", saved=created["unique_id"]))
    return see_other(f"{router.prefix}/{created['id']}")


async def _create(
    request: Request, principal: Principal, typed: dict[str, str], key: str
) -> dict[str, Any]:
    """Create the subscription once per form: a second submit of the same form (a double
    click, a reload) answers what the first one created, as an API Idempotency-Key would."""
    store, handlers = request.app.state.store, request.app.state.handlers
    idempotency = IdempotencyKey(principal.tenant_id, f"admin-form:{key}", key) if key else None
    if idempotency is not None:
        remembered = await store.recall(principal.tenant_id, idempotency.key)
        if remembered is not None:
            return remembered.body
    data = validated(SubscriptionIn, body(typed))
    unique_id = await handlers.next_unique_id(principal.tenant_id)
    command = create_command(data, uuid4(), unique_id)

    def answer(outcome: Any) -> tuple[int, dict[str, Any]]:
        return 201, {"id": str(outcome.stream_id), "unique_id": unique_id}

    try:
        await run(request, principal, command, idempotency, answer)
    except AlreadyAnswered as exc:
        return exc.remembered.body
    return {"id": str(command.subscription_id), "unique_id": unique_id}


async def _form(
    request: Request,
    principal: Principal,
    status: int = 200,
    typed: dict[str, str] | None = None,
    refused: Rejected | None = None,
    *,
    saved: str | None = None,
    form_key: str | None = None,
) -> Response:
    await caught_up(request, "directory")
    return render(
        request,
        "new.html",
        status,
        fields=NEW_SUBSCRIPTION,
        options=await choices.references(request.app.state.pool, principal.tenant_id),
        values=typed or {"status": "Active"},
        errors=refused.fields if refused else {},
        message=refused.message if refused else None,
        saved=saved,
        form_key=form_key or str(uuid4()),
    )


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True
