"""The inner page's forms carried out: parse, one use-case call, then the page again (303), or the
page with the refused form open, what was typed kept and each refusal next to its field."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from services.subscription.access.tokens import Principal
from services.subscription.read import subscriptions as views
from services.subscription.usecases import inputs
from services.subscription.usecases.calls import Call, Result
from services.subscription.web import pickers
from services.subscription.web.actions import ACTIONS, EDIT, ITEMS, Action, ItemForm
from services.subscription.web.dialogs import (
    Refused,
    opened,
    subscription_labels,
    subscription_values,
)
from services.subscription.web.fields import CHANGE_PLAN, EDIT_SUBSCRIPTION, REFUND
from services.subscription.web.forms import (
    ZONED,
    Rejected,
    Stale,
    body,
    browser_zone,
    carried_out,
    changes,
    page_call,
    patch_body,
    required,
    validated,
    values,
)
from services.subscription.web.forms import opened as opened_values
from services.subscription.web.inner import PREFIX, show
from services.subscription.web.pages import posted, see_other
from services.subscription.web.session import Writer

router = APIRouter(prefix=PREFIX, include_in_schema=False)
# How long a version conflict waits for the read model to show the other person's change.
CATCH_UP_SECONDS = 2.0


def _done(subscription_id: UUID, tab: str) -> Response:
    return see_other(f"/admin/subscriptions/{subscription_id}?tab={tab}#tab")


def _within(refused: Rejected, names: Iterable[str]) -> Rejected:
    """A refusal naming a field the form does not have (a login taken by another subscription,
    on a reopen) said for the whole form instead."""
    names = set(names)
    outside = [text for name, text in refused.fields.items() if name not in names]
    if not outside:
        return refused
    kept = {name: text for name, text in refused.fields.items() if name in names}
    message = " ".join(m for m in (refused.message, *outside) if m)
    return replace(refused, fields=kept, message=f"{message.rstrip('.')}.")


@dataclass(frozen=True)
class Picked:
    """A form's pickers as posted: what was typed in their boxes, the boxes left with text but
    no entry chosen, and where their "Find" or "Add a …" button leads instead of saving."""

    searched: dict[str, str]
    unchosen: dict[str, str]
    away: str | None

    @classmethod
    def of(
        cls, form: FormData, typed: dict[str, str], subscription_id: UUID, key: str, tab: str
    ) -> Picked:
        searched = pickers.searches(form, list(typed))
        unchosen = pickers.unchosen(typed, searched)
        # The way back keeps what was typed, the version and values the form was opened at.
        kept = {name: str(form.get(name) or "") for name in ("version", "opened")}
        back = {**typed, **kept, "open": key, "tab": tab}
        page = f"/admin/subscriptions/{subscription_id}"
        away = pickers.detour(str(form.get("then") or ""), back, searched, page)
        return cls(searched, unchosen, away)

    def check(self) -> None:
        """Refuse a box with text but no entry chosen, by its field."""
        if self.unchosen:
            raise Rejected(422, dict(self.unchosen))

    def refused(self, key: str, typed: dict[str, str], refused: Rejected, **more: Any) -> Refused:
        """The refusal with the unchosen boxes' errors and the boxes as they were typed."""
        fields = {**refused.fields, **self.unchosen}
        found = replace(refused, fields=fields)
        labels = more.pop("labels", self.searched)
        return Refused(key, typed, _within(found, typed), labels=labels, **more)


def _action_route(action: Action) -> Callable[..., Awaitable[Response]]:
    async def act(request: Request, subscription_id: UUID, principal: Writer) -> Response:
        form = await posted(request)
        typed = values(form, [f.name for f in action.fields])
        tab = action.tab or str(form.get("tab") or "summary")
        picked = Picked.of(form, typed, subscription_id, action.path, tab)
        if picked.away:
            return see_other(picked.away)
        cases = request.app.state.usecases
        try:
            if action.check:
                action.check(typed)
            data = validated(
                action.model, body(typed, action.lists, action.moments, browser_zone(form))
            )
            picked.check()
            pending = action.use(cases, page_call(principal), subscription_id, data)
            await carried_out(request, pending)
        except Rejected as refused:
            refusal = picked.refused(action.path, typed, refused)
            return await show(request, principal, subscription_id, tab, refused=refusal)
        return _done(subscription_id, tab)

    return act


for _action in ACTIONS.values():
    router.add_api_route(
        f"/{_action.path}", _action_route(_action), methods=["POST"], name=f"admin-{_action.path}"
    )


@router.post(f"/{EDIT}", name="admin-edit")
async def edit(request: Request, subscription_id: UUID, principal: Writer) -> Response:
    """The subscription's fields, changed only if nobody else changed them since the form was
    opened; otherwise the form again with what they saved beside what was typed."""
    form = await posted(request)
    names = [f.name for f in EDIT_SUBSCRIPTION]
    typed = values(form, names)
    tab = str(form.get("tab") or "summary")
    picked = Picked.of(form, typed, subscription_id, EDIT, tab)
    if picked.away:
        return see_other(picked.away)
    shown = opened_values(form)
    version = _version(form.get("version"))
    try:
        picked.check()
        required(EDIT_SUBSCRIPTION, typed)
        data = validated(inputs.SubscriptionPatch, patch_body(changes(typed, shown)))
        try:
            await _edit(request, principal, subscription_id, data, version)
        except Stale as stale:
            now = await _summary_at(request, principal, subscription_id, stale.current)
            if now is None:
                raise
            merged = Merge.of(now, shown, typed)
            if merged.clash or now["version"] < stale.current:
                conflict = picked.refused(
                    EDIT, merged.typed, _conflict(merged.clash), notes=merged.notes(now),
                    hidden=_next(now), labels=merged.labels(now, picked.searched),
                )  # fmt: skip
                return await show(request, principal, subscription_id, tab, refused=conflict)
            # Nobody else changed what was typed here (they changed other fields, its status, a
            # service): only the fields changed in this form are sent, at the version read now.
            await _edit(request, principal, subscription_id, data, int(now["version"]))
    except Rejected as refused:
        refusal = picked.refused(EDIT, typed, refused)
        return await show(request, principal, subscription_id, tab, refused=refusal)
    return _done(subscription_id, tab)


async def _edit(
    request: Request, principal: Principal, subscription_id: UUID, data: Any, version: int | None
) -> Result:
    call = replace(page_call(principal), expected_version=version)
    cases = request.app.state.usecases
    return await carried_out(request, cases.subscriptions.edit(call, subscription_id, data))


def _version(raw: object) -> int | None:
    text = str(raw or "")
    return int(text) if text.isdigit() and len(text) < 10 else None


async def _summary_at(
    request: Request, principal: Principal, subscription_id: UUID, version: int
) -> dict[str, Any] | None:
    """The subscription as the read model shows it once it holds `version` (or as it is after a
    short wait)."""
    pool = request.app.state.pool
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CATCH_UP_SECONDS
    while True:
        found = await views.summary(pool, principal.tenant_id, subscription_id)
        if found is None or found["version"] >= version or loop.time() > deadline:
            return found
        await asyncio.sleep(0.05)


@dataclass(frozen=True)
class Merge:
    """The edit form against what someone else saved since it was opened: the fields both
    changed differently clash; those only they changed take their value."""

    typed: dict[str, str]  # the form to show again: what was typed, and theirs where it was not
    clash: list[str]
    theirs: list[str]

    @classmethod
    def of(cls, now: dict[str, Any], shown: dict[str, str] | None, typed: dict[str, str]) -> Merge:
        saved = subscription_values(now)
        if shown is None:  # what the form showed is unknown: every difference clashes
            differ = [name for name in typed if saved[name] != typed[name]]
            return cls(dict(typed), differ, differ)
        mine = set(changes(typed, shown))
        theirs = [name for name in typed if saved[name] != shown.get(name, "")]
        clash = [name for name in theirs if name in mine and typed[name] != saved[name]]
        taken = {name: saved[name] for name in theirs if name not in mine}
        return cls({**typed, **taken}, clash, theirs)

    def notes(self, now: dict[str, Any]) -> dict[str, str]:
        """What they saved, said beside each field they changed."""
        return {name: _label(now, name) for name in self.theirs}

    def labels(self, now: dict[str, Any], searched: dict[str, str]) -> dict[str, str]:
        """The pickers' boxes: as typed, or the names of the entries they chose."""
        saved = subscription_labels(now)
        taken = {name: saved.get(name, "") for name in self.theirs if name not in self.clash}
        return {**searched, **taken}


def _label(now: dict[str, Any], name: str) -> str:
    """A saved value as a person reads it (a contact's name rather than its id)."""
    key = name.removesuffix("_id")
    if name == key:
        return str(now.get(name) or "") or "(empty)"
    entry = now.get(key)
    if not entry:
        return "(none)"
    return str(entry.get("name") or f"{entry.get('number')} — {entry.get('title')}")


def _conflict(clash: list[str]) -> Rejected:
    if not clash:
        message = (
            "Someone else changed this subscription meanwhile; what they saved is shown under "
            "each field they changed. Save again to apply this form."
        )
    else:
        message = (
            "Someone else changed this subscription since you opened this form; what they saved "
            "is shown under each field they changed. Your values are kept: save again to "
            "apply them."
        )
    return Rejected(409, message=message)


def _next(now: dict[str, Any] | None) -> dict[str, str]:
    """The version and values a second submit is checked against: those just shown."""
    if now is None:
        return {}
    return {"version": str(now["version"]), **opened(subscription_values(now))}


def _item_routes(path: str, item: ItemForm) -> None:
    async def update(
        request: Request, subscription_id: UUID, item_id: UUID, principal: Writer
    ) -> Response:
        form = await posted(request)
        shown_fields = item.posted(form.keys())
        typed = values(form, [f.name for f in shown_fields])
        key = f"edit-{path}-{item_id}"
        cases = request.app.state.usecases
        try:
            required(shown_fields, typed)
            zone = browser_zone(form)
            changed = changes(typed, opened_values(form), item.moments, zone)
            data = validated(
                item.kind.patch_model,
                patch_body(changed, item.lists, item.moments, zone),
            )
            pending = cases.account.update_item(
                page_call(principal), item.kind, subscription_id, item_id, data
            )
            await carried_out(request, pending)
        except Rejected as refused:
            refusal = Refused(key, typed, _within(refused, typed))
            return await show(request, principal, subscription_id, item.tab, refused=refusal)
        return _done(subscription_id, item.tab)

    async def remove(
        request: Request, subscription_id: UUID, item_id: UUID, principal: Writer
    ) -> Response:
        await posted(request)
        cases = request.app.state.usecases
        call = page_call(principal)
        try:
            pending = cases.account.remove_item(call, item.kind, subscription_id, item_id)
            await carried_out(request, pending)
        except Rejected as refused:
            refusal = Refused(f"remove-{path}-{item_id}", {}, _within(refused, ()))
            return await show(request, principal, subscription_id, item.tab, refused=refusal)
        return _done(subscription_id, item.tab)

    item_path = f"/{path}/{{item_id:uuid}}"
    router.add_api_route(item_path, update, methods=["POST"], name=f"admin-edit-{path}")
    router.add_api_route(
        f"{item_path}/remove", remove, methods=["POST"], name=f"admin-remove-{path}"
    )


for _path, _item in ITEMS.items():
    _item_routes(_path, _item)


@router.post("/payments/{payment_id:uuid}/refund", name="admin-refund")
async def refund(
    request: Request, subscription_id: UUID, payment_id: UUID, principal: Writer
) -> Response:
    """A refund or void recorded against one payment."""
    form = await posted(request)
    typed = values(form, [f.name for f in REFUND])
    cases = request.app.state.usecases
    try:
        data = validated(inputs.RefundIn, body(typed))
        call: Call = page_call(principal)
        await carried_out(
            request, cases.account.refund_payment(call, subscription_id, payment_id, data)
        )
    except Rejected as refused:
        refusal = Refused(f"refund-{payment_id}", typed, _within(refused, typed))
        return await show(request, principal, subscription_id, "details", refused=refusal)
    return _done(subscription_id, "details")


@router.post("/services/{item_id:uuid}/plan", name="admin-change-plan")
async def change_plan(
    request: Request, subscription_id: UUID, item_id: UUID, principal: Writer
) -> Response:
    """A service moved to another plan now (the proration shown after), at the next cycle or
    on a date (pending until then)."""
    form = await posted(request)
    typed = values(form, [f.name for f in CHANGE_PLAN])
    cases = request.app.state.usecases
    try:
        required(CHANGE_PLAN, typed)
        data = validated(inputs.PlanChangeIn, _plan_change(typed, browser_zone(form)))
        pending = cases.plans.change_service_plan(
            page_call(principal), subscription_id, item_id, data
        )
        result = await carried_out(request, pending)
    except Rejected as refused:
        if typed["effective"] == "date" and "effective" in refused.fields:
            moved = {**refused.fields, "effective_at": refused.fields["effective"]}
            refused = replace(refused, fields={k: v for k, v in moved.items() if k != "effective"})
        refusal = Refused(f"plan-services-{item_id}", typed, _within(refused, typed))
        return await show(request, principal, subscription_id, "services", refused=refusal)
    if data.effective == "now":  # the page says what the change credited and charged
        url = f"/admin/subscriptions/{subscription_id}?tab=services"
        return see_other(f"{url}&changed={result.body['version']}#tab")
    return _done(subscription_id, "services")


def _plan_change(typed: dict[str, str], zone: str) -> dict[str, str]:
    """The use case's body: `effective` is now, the next cycle or the moment typed (in the
    browser's zone)."""
    effective = typed["effective"].strip()
    if effective == "date":
        at = typed["effective_at"].strip()
        if not at:
            raise Rejected(422, {"effective_at": "Choose the date and time it takes effect."})
        effective = at if ZONED.search(at) else at + zone
    return {"plan_id": typed["plan_id"].strip(), "effective": effective}


@router.post("/services/{item_id:uuid}/plan/cancel", name="admin-cancel-plan-change")
async def cancel_plan_change(
    request: Request, subscription_id: UUID, item_id: UUID, principal: Writer
) -> Response:
    """The service's pending plan change dropped."""
    await posted(request)
    cases = request.app.state.usecases
    try:
        pending = cases.plans.cancel_plan_change(page_call(principal), subscription_id, item_id)
        await carried_out(request, pending)
    except Rejected as refused:
        refusal = Refused(f"cancel-plan-{item_id}", {}, _within(refused, ()))
        return await show(request, principal, subscription_id, "services", refused=refusal)
    return _done(subscription_id, "services")


@router.post("/scheduled-status/{schedule_id:uuid}/cancel", name="admin-cancel-scheduled-status")
async def cancel_scheduled_status(
    request: Request, subscription_id: UUID, schedule_id: UUID, principal: Writer
) -> Response:
    """A status change scheduled for later dropped."""
    await posted(request)
    cases = request.app.state.usecases
    call = page_call(principal)
    try:
        pending = cases.billing.cancel_scheduled_status(call, subscription_id, schedule_id)
        await carried_out(request, pending)
    except Rejected as refused:
        refusal = Refused(f"cancel-scheduled-{schedule_id}", {}, _within(refused, ()))
        return await show(request, principal, subscription_id, "summary", refused=refusal)
    return _done(subscription_id, "summary")
