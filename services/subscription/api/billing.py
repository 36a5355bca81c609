"""Routes of the account: a subscription's account, scheduled status changes, the tenant's
invoices for a period (list and CSV for the accountant) and the tenant's settings."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, StreamingResponse

from services.subscription.api.auth import Caller
from services.subscription.api.calls import WriteCall, answer
from services.subscription.api.deps import (
    Cases,
    Cursor,
    Limit,
    MinPosition,
    Pool,
    Reads,
    bad_query,
    fresh,
    rendered,
)
from services.subscription.api.problems import READ, READ_ONE, WRITE, WRITE_ON, Problem, problems
from services.subscription.api.schemas import (
    Account,
    Changed,
    InvoicePage,
    Removed,
    ScheduledStatuses,
    TenantSettings,
)
from services.subscription.read import account as account_queries
from services.subscription.sheets.files import CSV_MEDIA_TYPE
from services.subscription.usecases import billing
from services.subscription.usecases.inputs import ScheduledStatusIn, SettingsIn

account = APIRouter(prefix="/subscriptions/{subscription_id}", tags=["account"])
invoices = APIRouter(prefix="/invoices", tags=["account"])
settings = APIRouter(prefix="/settings", tags=["settings"])
From = Annotated[date, Query(alias="from", description="first day (UTC) of issue")]
To = Annotated[date, Query(alias="to", description="the day after the last (UTC)")]
FILE = {"schema": {"type": "string", "format": "binary"}}


def _not_found(subscription_id: UUID) -> Problem:
    return Problem(404, f"subscription {subscription_id} not found", slug="not-found")


@account.get(
    "/account",
    summary="The account: invoices, charges and credits, payments, balance, due date",
    response_model=Account,
    responses=problems(*READ_ONE),
)
async def one_account(
    subscription_id: UUID,
    principal: Caller,
    reads: Reads,
    pool: Pool,
    min_position: MinPosition = None,
) -> JSONResponse:
    await fresh(reads, "account", min_position)
    found = await account_queries.account(pool, principal.tenant_id, subscription_id)
    if found is None:
        raise _not_found(subscription_id)
    return rendered(found)


@account.get(
    "/scheduled-status",
    summary="Status changes scheduled for the subscription, soonest first",
    response_model=ScheduledStatuses,
    responses=problems(*READ_ONE),
)
async def scheduled(
    subscription_id: UUID,
    principal: Caller,
    reads: Reads,
    pool: Pool,
    min_position: MinPosition = None,
) -> JSONResponse:
    await fresh(reads, "account", min_position)
    found = await account_queries.account(pool, principal.tenant_id, subscription_id)
    if found is None:
        raise _not_found(subscription_id)
    return rendered({"items": found["scheduled_status_changes"]})


@account.post(
    "/scheduled-status",
    status_code=201,
    summary="Schedule a status change for a moment to come",
    description="The scheduler carries it out when due (actor `system:scheduler`); a change "
    "to the status the subscription is in by then is dropped.",
    response_model=Changed,
    responses=problems(*WRITE_ON),
)
async def schedule(
    subscription_id: UUID, body: ScheduledStatusIn, call: WriteCall, cases: Cases
) -> JSONResponse:
    result = await cases.billing.schedule_status(call, subscription_id, body)
    return answer(result, f"/api/v1/subscriptions/{subscription_id}/scheduled-status")


@account.delete(
    "/scheduled-status/{schedule_id}",
    summary="Cancel a scheduled status change",
    response_model=Removed,
    responses=problems(*WRITE_ON),
)
async def cancel(
    subscription_id: UUID, schedule_id: UUID, call: WriteCall, cases: Cases
) -> JSONResponse:
    return answer(await cases.billing.cancel_scheduled_status(call, subscription_id, schedule_id))


def _period(start: date, end: date) -> None:
    if end <= start:
        raise bad_query("to", "to must come after from")


@invoices.get(
    "",
    summary="The tenant's invoices issued in a period",
    response_model=InvoicePage,
    responses=problems(*READ),
)
async def listing(
    principal: Caller,
    reads: Reads,
    pool: Pool,
    start: From,
    end: To,
    cursor: Cursor = None,
    limit: Limit = 50,
    min_position: MinPosition = None,
) -> JSONResponse:
    _period(start, end)
    await fresh(reads, "account", min_position)
    try:
        items, next_cursor = await account_queries.invoices(
            pool, principal.tenant_id, start, end, cursor, limit
        )
    except ValueError as exc:
        raise bad_query("cursor", str(exc)) from None
    return rendered({"items": items, "next_cursor": next_cursor})


@invoices.get(
    "/export.csv",
    summary="The tenant's invoices issued in a period, as CSV (UTF-8 with BOM), streamed",
    response_class=StreamingResponse,
    responses={200: {"content": {CSV_MEDIA_TYPE: FILE}}, **problems(*READ)},
)
async def export_csv(
    principal: Caller,
    reads: Reads,
    pool: Pool,
    start: From,
    end: To,
    min_position: MinPosition = None,
) -> StreamingResponse:
    _period(start, end)
    await fresh(reads, "account", min_position)
    download = billing.invoices_csv(pool, principal.tenant_id, start, end)
    return StreamingResponse(
        download.chunks, media_type=download.media_type, headers=download.headers
    )


@settings.get(
    "", summary="The tenant's settings", response_model=TenantSettings, responses=problems(*READ)
)
async def get_settings(principal: Caller, cases: Cases) -> JSONResponse:
    return rendered(await cases.billing.settings(principal.tenant_id))


@settings.put(
    "",
    summary="Set the tenant's settings (grace days, default 7)",
    response_model=TenantSettings,
    responses=problems(*WRITE),
)
async def put_settings(body: SettingsIn, call: WriteCall, cases: Cases) -> JSONResponse:
    return rendered(await cases.billing.set_settings(call, body))


routers = [account, invoices, settings]
