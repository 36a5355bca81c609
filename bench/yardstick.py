"""Yardstick of the command scenarios: a bare FastAPI endpoint that validates the body of a
create-subscription and commits one row, served with the API's server settings.

`python -m bench.yardstick` (DATABASE_URL, API_PORT, WISPGATE_DB_POOL_SIZE as the API reads them).
Whatever the real API costs beyond this is the project's own work per command.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated
from uuid import UUID, uuid4

import asyncpg
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, StringConstraints

from contracts.subscription import Status

CREATE_TABLE = """
create schema if not exists bench;
create table if not exists bench.yardstick (
    id uuid primary key, tenant_id text not null, data jsonb not null,
    created_at timestamptz not null default now()
)
"""
INSERT = "insert into bench.yardstick (id, tenant_id, data) values ($1, $2, $3)"

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Body(BaseModel):
    """The API's create-subscription body, with the same constraints."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    contact_id: UUID
    organization_id: UUID | None = None
    name: Name
    status: Status
    engineer_id: UUID
    service_contract_id: UUID | None = None
    description: Annotated[str, StringConstraints(max_length=5000)] | None = None


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    pool = await asyncpg.create_pool(
        os.environ["DATABASE_URL"],
        min_size=1,
        max_size=int(os.environ.get("WISPGATE_DB_POOL_SIZE", "20")),
    )
    await pool.execute(CREATE_TABLE)
    app.state.pool = pool
    try:
        yield
    finally:
        await pool.close()


app = FastAPI(lifespan=lifespan)


@app.post("/yardstick", status_code=201)
async def create(body: Body, request: Request) -> JSONResponse:
    """Validate, commit one row, answer 201."""
    row_id = uuid4()
    await request.app.state.pool.execute(INSERT, row_id, "bench", body.model_dump_json())
    return JSONResponse({"id": str(row_id)}, status_code=201)


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":
    # The settings of `python -m services.subscription api`.
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(os.environ["API_PORT"]),
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
    )
