"""Export at scale: the whole list of the loaded tenant (the issue: 1,000,000 rows) as CSV and
as XLSX, each downloaded once by a client that writes the body to /dev/null.

Runs on the `data` database the rebuild and reads scenarios share (bench/scenarios/data.py),
with only the API running. Per format: rows per second, the time from the send to the first
byte of the body (not the headers: an answer may send its headers before it has any row),
whether the body was streamed (chunked, no Content-Length), and the API's resident memory before
the call and its peak during it: the export's claim is flat memory however many rows. Yardstick:
the same rows and columns, in the list's order, by `COPY (select ...) TO STDOUT` as CSV.

Goals (the issue's, for 1,000,000 rows): CSV at least 200,000 rows/s; XLSX the first byte within
1 s, at least 30,000 rows/s and streamed; both with flat memory, read as the API's peak RSS
growing by at most FLAT_MIB during the call.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import asyncpg
import httpx

from ..memory import Memory, reset_peak, status_kib
from ..report import Figure, Scenario
from ..runtime import admin_token
from ..sizes import Size
from .data import DataSystem

FORMATS = ("csv", "xlsx")
PATH = "/api/v1/subscriptions/export.{}"
# The export's columns in the list's default order (newest first), for COPY ... TO STDOUT.
ROWS = """
select unique_id, name, contact_name, organization_name, status, engineer_name,
       service_contract_number, description,
       to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
from read.subscriptions where tenant_id = $1
order by created_at desc, id desc
"""
# The last bytes of every zip file: its end-of-central-directory record.
ZIP_END = b"PK\x05\x06"
CSV_ROWS_PER_SECOND = 200_000
XLSX_ROWS_PER_SECOND = 30_000
XLSX_FIRST_BYTE_MS = 1000.0
FLAT_MIB = 32.0  # peak RSS growth during one export, whatever its size


@dataclass(frozen=True)
class Download:
    """One export call, timed from its send; sizes in bytes; RSS of the API in KiB."""

    fmt: str
    seconds: float
    headers_seconds: float  # the answer's status line and headers received
    first_byte_seconds: float  # the body's first byte received
    body_bytes: int
    chunked: bool  # Transfer-Encoding: chunked, no Content-Length
    lines: int  # line ends in the body (CSV: rows + header)
    rss_before_kib: int
    peak_kib: int

    @property
    def growth_mib(self) -> float:
        return (self.peak_kib - self.rss_before_kib) / 1024


async def exports(data: DataSystem, size: Size, memory: Memory) -> Scenario:
    scenario = Scenario("export")
    loaded = await data.prepare(size)
    if not data.rebuilt:
        await data.rebuild()
    api = data.processes.start("api")
    base = f"http://127.0.0.1:{data.port}"
    await data.processes.wait_http(f"{base}/readyz")
    token = await admin_token(data.dsn, loaded.tenant_id)
    copy_seconds, copy_bytes = await _copy(data.dsn, loaded.tenant_id)
    with memory.scenario() as rss:
        downloads = [await _download(base, token, fmt, api.pid) for fmt in FORMATS]
    data.processes.stop("api")
    scenario.rss_mib = rss
    rows = loaded.subscriptions
    csv, xlsx = downloads
    if csv.lines != rows + 1:
        raise RuntimeError(f"the CSV export has {csv.lines - 1} rows, the tenant {rows}")
    copy_text = f"COPY TO STDOUT {rows / copy_seconds:,.0f} rows/s ({copy_seconds:.2f} s)"
    for download in downloads:
        scenario.add(*_figures(download, rows, copy_text))
    scenario.details = {
        "rows": rows,
        "copy_seconds": round(copy_seconds, 3),
        "copy_bytes": copy_bytes,
        "downloads": [_download_dict(d) for d in downloads],
    }
    scenario.notes.append(
        f"{rows:,} subscriptions in one tenant, the list's default order, no filter; each "
        f"format downloaded once (CSV {csv.body_bytes / 2**20:.0f} MiB, XLSX "
        f"{xlsx.body_bytes / 2**20:.0f} MiB) by httpx writing to /dev/null; COPY's CSV is "
        f"{copy_bytes / 2**20:.0f} MiB"
    )
    return scenario


def _figures(download: Download, rows: int, copy_text: str) -> list[Figure]:
    name = download.fmt.upper()
    before, peak = download.rss_before_kib / 1024, download.peak_kib / 1024
    mib = download.body_bytes / 2**20
    xlsx = download.fmt == "xlsx"
    rate_goal = XLSX_ROWS_PER_SECOND if xlsx else CSV_ROWS_PER_SECOND
    sent = "chunked" if download.chunked else f"Content-Length {download.body_bytes:,}"
    figures = [
        Figure(f"{name} export rate", rows / download.seconds, "rows/s",
               f"{download.seconds:.1f} s; {copy_text}", (">=", rate_goal)),
        Figure(f"{name} time to first byte", download.first_byte_seconds * 1000, "ms",
               f"headers {download.headers_seconds * 1000:.0f} ms; of {download.seconds:.1f} s",
               ("<=", XLSX_FIRST_BYTE_MS) if xlsx else None),
        Figure(f"{name} API peak RSS growth", download.growth_mib, "MiB",
               f"RSS before {before:.0f} MiB, peak {peak:.0f} MiB; response {mib:.0f} MiB",
               ("<=", FLAT_MIB)),
    ]  # fmt: skip
    if xlsx:
        figures.append(
            Figure(f"{name} streamed (1 = chunked)", float(download.chunked), "", sent, (">=", 1))
        )
    return figures


async def _download(base: str, token: str, fmt: str, api_pid: int) -> Download:
    """GET one export, the body written to /dev/null as it arrives."""
    headers = {"Authorization": f"Bearer {token}"}
    reset_peak(api_pid)
    before = status_kib(api_pid, "VmRSS") or 0
    headers_at, first_byte, size, lines, tail = 0.0, 0.0, 0, 0, b""
    sink = os.open(os.devnull, os.O_WRONLY)
    try:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=600) as http:
            started = time.perf_counter()
            async with http.stream("GET", PATH.format(fmt)) as answer:
                if answer.status_code != 200:
                    await answer.aread()
                    raise RuntimeError(f"{fmt}: {answer.status_code} {answer.text[:300]}")
                headers_at = time.perf_counter() - started
                async for chunk in answer.aiter_raw():
                    if not chunk:
                        continue
                    first_byte = first_byte or time.perf_counter() - started
                    os.write(sink, chunk)
                    size += len(chunk)
                    lines += chunk.count(b"\n")
                    tail = (tail + chunk[-64:])[-64:]
            seconds = time.perf_counter() - started
    finally:
        os.close(sink)
    peak = status_kib(api_pid, "VmHWM") or 0
    chunked = _check(fmt, answer, size, tail)
    return Download(fmt, seconds, headers_at, first_byte, size, chunked, lines, before, peak)


def _check(fmt: str, answer: httpx.Response, size: int, tail: bytes) -> bool:
    """The body arrived whole: as long as announced, if announced; an XLSX ends as a zip does;
    a CSV was chunked. Whether the body was chunked (streamed)."""
    chunked = answer.headers.get("transfer-encoding") == "chunked"
    announced = answer.headers.get("content-length")
    if announced is not None and int(announced) != size:
        raise RuntimeError(f"{fmt}: {size} bytes, announced {answer.headers}")
    if fmt == "xlsx" and ZIP_END not in tail:
        raise RuntimeError(f"xlsx: {size} bytes without a zip's ending: {answer.headers}")
    if fmt == "csv" and not chunked:
        raise RuntimeError(f"csv: not streamed: {answer.headers}")
    return chunked


async def _copy(dsn: str, tenant_id: str) -> tuple[float, int]:
    """Seconds and bytes of COPY ... TO STDOUT of the export's rows, read by asyncpg."""
    written = 0

    async def sink(chunk: bytes) -> None:
        nonlocal written
        written += len(chunk)

    conn = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        await conn.copy_from_query(ROWS, tenant_id, output=sink, format="csv", header=True)
        return time.perf_counter() - started, written
    finally:
        await conn.close()


def _download_dict(download: Download) -> dict:
    return {
        "format": download.fmt,
        "seconds": round(download.seconds, 3),
        "headers_seconds": round(download.headers_seconds, 4),
        "first_byte_seconds": round(download.first_byte_seconds, 4),
        "body_bytes": download.body_bytes,
        "chunked": download.chunked,
        "rss_before_mib": round(download.rss_before_kib / 1024, 1),
        "peak_rss_mib": round(download.peak_kib / 1024, 1),
    }
