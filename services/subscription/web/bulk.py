"""The bulk change pages: the list's bulk form handed in, and the job's progress and refusals.

The list (subscriptions.py, list.html) sends the ticked rows, or "all matching this filter" with
the list's filters, and the action; the same use case as `POST /api/v1/subscriptions/bulk`
stores the job, and the browser is sent to its page, which refreshes itself (no script needed)
until the job is over. A refused form is shown again with each field's error, the selection
kept. The engineer is a picker: its "Find engineer" and "Add an engineer" without JavaScript
leave for the choose page or the add form and come back to `GET /admin/bulk/new` with the form
as it was (the ticked rows included) and the engineer chosen. A read token gets no bulk form and
a 403 here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import ImmutableMultiDict

from contracts.bulk import BulkJob, EngineerAction
from contracts.imports import JobState
from contracts.subscription import Status
from services.subscription.access.tokens import Principal
from services.subscription.http.imports import wake
from services.subscription.read import bulk as selected
from services.subscription.read import directory
from services.subscription.read import imports as jobs
from services.subscription.usecases import bulk
from services.subscription.usecases.bulk import BulkIn, QueueFull
from services.subscription.usecases.errors import DomainError, field_errors
from services.subscription.web import pickers
from services.subscription.web.fields import Field
from services.subscription.web.forms import values
from services.subscription.web.pages import caught_up, posted, render, see_other, with_query
from services.subscription.web.session import PageError, SignedIn, Writer

router = APIRouter(prefix="/admin/bulk", include_in_schema=False)

FINAL = {JobState.COMPLETED, JobState.FAILED}
STATUSES = [s.value for s in Status]
ACTION_FIELDS = ("action", "status", "reason", "engineer_id")
ENGINEER = Field("engineer_id", "Assign to")  # a picker of active engineers
# The list's filters, as the bulk form carries them (beside the action's own `status`).
FILTER_FIELDS = {
    "filter_status": "status",
    "filter_engineer_id": "engineer_id",
    "filter_q": "q",
    "filter_overdue": "overdue",
    "filter_plan_id": "plan_id",
}
# The form field that shows a refusal, by the last step of the pointer the use case names.
FIELD_OF = {
    "status": "status",
    "reason": "reason",
    "engineer_id": "engineer_id",
    "type": "action",
    "action": "action",
    "filter": "scope",
    "subscription_ids": "scope",
}
REFRESH_SECONDS = 2
# The list's "all N matching" counts this far (a bounded walk of the list's index).
LIST_COUNT_BOUND = 10_000


@router.post("")
async def submit(request: Request, principal: Writer) -> Response:
    form = await posted(request)
    typed = values(form, ACTION_FIELDS)
    chosen = Chosen.of(form)
    searched = pickers.searches(form, [ENGINEER.name])
    unchosen = pickers.unchosen(typed, searched)
    away = pickers.away(str(form.get("then") or ""), chosen.back(typed), searched)
    if away:  # "Find engineer" or "Add an engineer", without running anything
        return see_other(away)
    # Text in the engineer's box with none chosen is its error (when assigning one).
    errors = unchosen if typed["action"] == "engineer" else {}
    try:
        data = BulkIn.model_validate({**chosen.body(), "action": _action(typed)})
    except ValidationError as exc:
        for error in field_errors(exc.errors()):
            errors.setdefault(_field(error["pointer"]), error["detail"])
        return await _again(request, principal, chosen, typed, errors, searched=searched)
    if errors:
        return await _again(request, principal, chosen, typed, errors, searched=searched)
    try:
        queued = await bulk.submit(
            request.app.state.pool, principal.tenant_id, principal.name, data
        )
    except DomainError as exc:
        refused = {_field(exc.pointer): exc.message}
        return await _again(request, principal, chosen, typed, refused, searched=searched)
    except QueueFull:
        message = "Too many jobs of this tenant are waiting; try again when one has finished."
        return await _again(request, principal, chosen, typed, {"": message}, 429, searched)
    await wake(request, queued.job_id)
    return see_other(f"{router.prefix}/{queued.job_id}")


@router.get("/new")
async def form_again(request: Request, principal: Writer) -> Response:
    """The bulk form as it was left for choosing or adding an engineer, that engineer in."""
    given = request.query_params
    typed = {name: given.get(name, "")[:500] for name in ACTION_FIELDS}
    await caught_up(request, "directory")  # an engineer just added
    return await _again(request, principal, Chosen.of(given), typed, {}, 200)


@router.get("/{job_id:uuid}")
async def job_page(request: Request, job_id: UUID, principal: SignedIn) -> Response:
    job = await jobs.find_bulk(request.app.state.pool, principal.tenant_id, job_id)
    if job is None:
        raise PageError(404, "Not found", "There is no such bulk change.")
    final = job.state in FINAL
    page = render(
        request,
        "bulk_job.html",
        job=job,
        final=final,
        what=await _described(request, principal, job),
    )
    if not final:  # the browser reloads the page until the job is over, without a script
        page.headers["Refresh"] = str(REFRESH_SECONDS)
    return page


class Chosen:
    """The subscriptions a bulk form is for: the ticked ids, or the list's filters."""

    def __init__(self, scope: str, ids: list[str], filters: dict[str, str]) -> None:
        self.scope = scope
        self.ids = ids
        self.filters = filters

    @classmethod
    def of(cls, form: ImmutableMultiDict[str, Any]) -> Chosen:
        """From the posted form, or from the query of the way back to it."""
        scope = "filter" if form.get("scope") == "filter" else "selected"
        ids = [str(v) for v in form.getlist("subscription_ids") if v]
        filters = {name: str(form.get(name) or "").strip() for name in FILTER_FIELDS}
        return cls(scope, ids, filters)

    def back(self, typed: dict[str, str]) -> str:
        """The bulk form again after a detour, with this selection and the action `typed`."""
        selection = {"scope": self.scope, "subscription_ids": self.ids, **self.filters}
        return with_query(f"{router.prefix}/new", **selection, **typed)

    def body(self) -> dict[str, Any]:
        """The use case's selection: the ids, or the filter (blank filters left out)."""
        if self.scope == "selected":
            return {"subscription_ids": self.ids or None}
        given: dict[str, Any] = {FILTER_FIELDS[k]: v for k, v in self.filters.items() if v}
        if "status" in given:
            given["status"] = [given["status"]]
        return {"filter": given}


def _action(typed: dict[str, str]) -> dict[str, Any]:
    """The action as the API takes it, from the form's fields (blanks left out)."""
    kind = typed["action"]
    named = {"engineer": ("engineer_id",), "status": ("status", "reason")}.get(kind, ())
    given = {name: typed[name].strip() for name in named if typed[name].strip()}
    return {"type": kind, **given} if kind else given


def _field(pointer: str | None) -> str:
    """The form field a use case's pointer names ('' for the form as a whole)."""
    steps = [s for s in (pointer or "").split("/") if s and not s.isdigit()]
    for step in reversed(steps):
        if step in FIELD_OF:
            return FIELD_OF[step]
    return ""


async def _again(
    request: Request,
    principal: Principal,
    chosen: Chosen,
    typed: dict[str, str],
    errors: dict[str, str],
    status: int = 422,
    searched: dict[str, str] | None = None,
) -> Response:
    """The bulk form again, with each field's error and the selection it was for; the
    engineer's box as typed, or the name of the engineer chosen."""
    message = errors.pop("", None)
    pool = request.app.state.pool
    chosen_engineer = {ENGINEER.name: typed.get(ENGINEER.name, "")}
    labels = await pickers.labels(pool, principal.tenant_id, chosen_engineer)
    return render(
        request,
        "bulk_new.html",
        status,
        chosen=chosen,
        values=typed,
        errors=errors,
        message=message,
        statuses=STATUSES,
        engineer=ENGINEER,
        labels=labels | (searched or {}),
    )


async def _described(request: Request, principal: Principal, job: BulkJob) -> str:
    """What the job does, in words."""
    action = job.action
    if isinstance(action, EngineerAction):
        pool = request.app.state.pool
        entry = await directory.get_entry(pool, principal.tenant_id, "engineer", action.engineer_id)
        return f"Assign engineer {entry['name'] if entry else action.engineer_id}"
    return f"Change status to {action.status} (reason: {action.reason})"


@dataclass(frozen=True)
class ListChoices:
    """What the list's bulk form offers: how many match its filter (`more`: over that many;
    counting stops there), the statuses, and the engineer's picker."""

    matching: int
    more: bool
    statuses: list[str]
    engineer: Field = ENGINEER


async def list_choices(
    pool: asyncpg.Pool, principal: Principal, filters: dict[str, Any], shown: int, whole: bool
) -> ListChoices | None:
    """The list's bulk form for a writer (None for a read token); `whole`: the page shown is
    every match (`shown` of them), so nothing is counted."""
    if not principal.can_write:
        return None
    matching = shown
    if not whole:
        # Counted only so far, to keep the list fast; submitting counts them all (and refuses
        # more than MAX_BULK_ROWS).
        matching = await selected.count_matching(
            pool, principal.tenant_id, filters, LIST_COUNT_BOUND + 1
        )
    more = matching > LIST_COUNT_BOUND
    return ListChoices(min(matching, LIST_COUNT_BOUND), more, STATUSES)
