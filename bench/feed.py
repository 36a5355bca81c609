"""One call of the LibreQoS feed, timed from a plain socket, and the API's memory meanwhile.

The client only counts bytes while it reads (a Python HTTP client would parse ~100,000 chunks on
the same two cores as the server); the body is de-chunked and parsed after the clock stopped.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from .memory import reset_peak, status_kib

PATH = "/api/libreqos/shaped-devices"
READ_BYTES = 1 << 18
# The stream opens with the array's "[" as a chunk of its own: hex size, CRLF, "[", CRLF.
OPENING = b"1\r\n[\r\n"


@dataclass(frozen=True)
class FeedCall:
    """Times in seconds from the request's send; sizes in bytes."""

    seconds: float
    first_byte_seconds: float  # the status line
    first_device_seconds: float  # the first byte after the array's opening
    body_bytes: int
    devices: int
    first: dict[str, Any] | None  # the first shaped device, to show its keys
    chunked: bool
    rss_before_kib: int
    peak_kib: int


async def call(base: str, token: str, api_pid: int) -> FeedCall:
    """POST the feed once with `api_token`; the API's RSS before and peak RSS during the call."""
    url = urlsplit(base)
    form = urlencode({"api_token": token}).encode()
    request = (
        f"POST {PATH} HTTP/1.1\r\nHost: {url.netloc}\r\nConnection: close\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(form)}\r\n\r\n"
    ).encode() + form
    reset_peak(api_pid)
    before = status_kib(api_pid, "VmRSS") or 0
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    parts: list[bytes] = []
    first_byte, first_device = 0.0, 0.0
    started = time.perf_counter()
    writer.write(request)
    while part := await reader.read(READ_BYTES):
        if not first_byte:
            first_byte = time.perf_counter() - started
        parts.append(part)
        if not first_device and _past_opening(parts):
            first_device = time.perf_counter() - started
    seconds = time.perf_counter() - started
    writer.close()
    peak = status_kib(api_pid, "VmHWM") or 0
    head, _, body = b"".join(parts).partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0]
    if b" 200 " not in status:
        raise RuntimeError(f"feed answered {status!r}: {body[:300]!r}")
    chunked = b"transfer-encoding: chunked" in head.lower()
    payload = _dechunk(body) if chunked else body
    devices = json.loads(payload)
    return FeedCall(
        seconds, first_byte, first_device, len(payload), len(devices),
        devices[0] if devices else None, chunked, before, peak,
    )  # fmt: skip


def _past_opening(parts: list[bytes]) -> bool:
    """Whether more than the array's opening chunk has arrived after the headers."""
    data = b"".join(parts) if len(parts) > 1 else parts[0]
    end = data.find(b"\r\n\r\n")
    return end >= 0 and len(data) - end - 4 > len(OPENING)


def _dechunk(body: bytes) -> bytes:
    out, at = [], 0
    while True:
        line_end = body.index(b"\r\n", at)
        size = int(body[at:line_end].split(b";")[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(body[line_end + 2 : line_end + 2 + size])
        at = line_end + 2 + size + 2
