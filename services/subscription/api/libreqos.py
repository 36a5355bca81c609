"""POST /api/libreqos/shaped-devices, as LibreQoS's WISPGate integration calls it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import StreamingResponse

from services.subscription.api.auth import authenticate
from services.subscription.api.problems import Problem, problems
from services.subscription.api.schemas import ShapedDevice
from services.subscription.read import libreqos

router = APIRouter(tags=["integrations"])


@router.post(
    "/api/libreqos/shaped-devices",
    summary="Shaped devices for LibreQoS (form field api_token: any token of the tenant)",
    response_model=list[ShapedDevice],
    responses=problems(401, 413, 422, 503),
)
async def shaped_devices(
    request: Request, api_token: Annotated[str, Form(max_length=512)]
) -> StreamingResponse:
    principal = await authenticate(request, api_token.strip())
    if principal is None:
        raise Problem(401, "unknown or revoked api_token", slug="unauthorized")
    state = request.app.state
    body = libreqos.stream(state.pool, principal.tenant_id, state.settings.libreqos_trickle_mbps)
    return StreamingResponse(body, media_type="application/json")
