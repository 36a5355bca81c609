"""Administration → Plans: the catalogue's list with search and paging, a plan's page, and
adding, editing and retiring plans through the same use cases as the API (`/api/v1/plans`)."""

from __future__ import annotations

from typing import Any, TypeVar
from uuid import UUID, uuid4

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from services.subscription.access.tokens import Principal
from services.subscription.read import plans as plan_queries
from services.subscription.read.queries import parse_sort
from services.subscription.usecases.inputs import Body, PlanIn, PlanPatch, RetireIn
from services.subscription.web.fields import PLAN
from services.subscription.web.forms import (
    Rejected,
    body,
    carried_out,
    page_call,
    required,
    validated,
    values,
)
from services.subscription.web.pages import caught_up, posted, render, see_other, with_query
from services.subscription.web.session import PageError, SignedIn, Writer

PREFIX = "/admin/plans"
PAGE_SIZE = 50
SHOW = {"active": False, "retired": True, "all": None}  # the `retired` filter of each choice
BY_NAME = parse_sort("name", plan_queries.SORTS, plan_queries.DEFAULT_SORT)
NAMES = [f.name for f in PLAN]

Model = TypeVar("Model", bound=Body)

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("")
async def listing(request: Request, principal: SignedIn, cursor: str | None = None) -> Response:
    """The tenant's plans by name: searched, offered or retired, 50 a page."""
    params = request.query_params
    q = params.get("q", "").strip()[:200]
    show = params.get("show", "active") if params.get("show") in SHOW else "active"
    current = await caught_up(request, "plans")
    pool, tenant_id = request.app.state.pool, principal.tenant_id
    try:
        page = await plan_queries.list_plans(
            pool, tenant_id, q, SHOW[show], BY_NAME, cursor, PAGE_SIZE
        )
    except ValueError:  # a cursor that is not ours: the first page
        page = await plan_queries.list_plans(
            pool, tenant_id, q, SHOW[show], BY_NAME, None, PAGE_SIZE
        )
        cursor = None
    return render(
        request,
        "plans_list.html",
        q=q,
        show=show,
        items=page.items,
        paged=cursor is not None,
        first_page=with_query(PREFIX, q=q, show=show),
        next_page=page.next_cursor and with_query(PREFIX, q=q, show=show, cursor=page.next_cursor),
        current=current,
    )


@router.get("/new")
async def new_form(request: Request, principal: Writer) -> Response:
    return _form(request, None, {"cycle": "monthly"})


@router.post("/new")
async def create(request: Request, principal: Writer) -> Response:
    form = await posted(request)
    typed = values(form, NAMES)
    key = str(form.get("form_key") or "")
    cases = request.app.state.usecases
    try:
        data = _checked(PlanIn, body(typed), typed)
        result = await carried_out(request, cases.plans.create(page_call(principal, key), data))
    except Rejected as refused:
        return _form(request, None, typed, refused, form_key=key)
    return see_other(with_query(f"{PREFIX}/{result.body['id']}", saved="added"))


@router.get("/{plan_id:uuid}")
async def plan_page(request: Request, plan_id: UUID, principal: SignedIn) -> Response:
    return await _plan_page(request, principal, plan_id)


@router.get("/{plan_id:uuid}/edit")
async def edit_form(request: Request, plan_id: UUID, principal: Writer) -> Response:
    await caught_up(request, "plans")
    plan = await _plan(request, principal, plan_id)
    return _form(request, plan, {n: "" if plan[n] is None else str(plan[n]) for n in NAMES})


@router.post("/{plan_id:uuid}/edit")
async def edit(request: Request, plan_id: UUID, principal: Writer) -> Response:
    form = await posted(request)
    typed = values(form, NAMES)
    cases = request.app.state.usecases
    try:
        # Every field is sent: an optional one left blank is cleared, as `null` in a PATCH.
        data = _checked(PlanPatch, {n: v.strip() or None for n, v in typed.items()}, typed)
        await carried_out(request, cases.plans.edit(page_call(principal), plan_id, data))
    except Rejected as refused:
        plan = await _plan(request, principal, plan_id)
        return _form(request, plan, typed, refused)
    return see_other(with_query(f"{PREFIX}/{plan_id}", saved="edited"))


@router.post("/{plan_id:uuid}/retire")
async def retire(request: Request, plan_id: UUID, principal: Writer) -> Response:
    form: FormData = await posted(request)
    reason = str(form.get("reason") or "").strip()
    cases = request.app.state.usecases
    try:
        data = validated(RetireIn, {"reason": reason} if reason else {})
        await carried_out(request, cases.plans.retire(page_call(principal), plan_id, data))
    except Rejected as refused:
        return await _plan_page(request, principal, plan_id, refused, reason)
    return see_other(with_query(f"{PREFIX}/{plan_id}", saved="retired"))


async def _plan_page(
    request: Request,
    principal: Principal,
    plan_id: UUID,
    refused: Rejected | None = None,
    reason: str = "",
) -> Response:
    """A plan, and what may be done with it."""
    current = await caught_up(request, "plans")
    plan = await _plan(request, principal, plan_id)
    return render(
        request,
        "plans_plan.html",
        refused.status if refused else 200,
        plan=plan,
        fields=PLAN,
        saved=request.query_params.get("saved") if not refused else None,
        errors=refused.fields if refused else {},
        message=refused.message if refused else None,
        reason=reason,
        current=current,
    )


def _form(
    request: Request,
    plan: dict[str, Any] | None,
    typed: dict[str, str],
    refused: Rejected | None = None,
    *,
    form_key: str | None = None,
) -> Response:
    """The add form (no plan) or the edit form of a plan."""
    return render(
        request,
        "plans_form.html",
        refused.status if refused else 200,
        plan=plan,
        fields=PLAN,
        values=typed,
        errors=refused.fields if refused else {},
        message=refused.message if refused else None,
        form_key=form_key or str(uuid4()),
    )


def _checked(model: type[Model], data: dict[str, Any], typed: dict[str, str]) -> Model:
    """The input model of the form, or every field's error at once: those left empty and
    those of the wrong type."""
    try:
        required(PLAN, typed)
        missing: dict[str, str] = {}
    except Rejected as refused:
        missing = refused.fields
    try:
        found = validated(model, data)
    except Rejected as refused:
        raise Rejected(422, {**refused.fields, **missing}, refused.message) from None
    if missing:
        raise Rejected(422, missing)
    return found


async def _plan(request: Request, principal: Principal, plan_id: UUID) -> dict[str, Any]:
    plan = await plan_queries.get_plan(request.app.state.pool, principal.tenant_id, plan_id)
    if plan is None:
        raise PageError(404, "Not found", "There is no such plan.")
    return plan
