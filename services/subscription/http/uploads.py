"""Reading an import upload: a multipart form with one spreadsheet, checked only on the surface.

The body is read after authentication and counted as it arrives, against its own limit
(WISPGATE_MAX_UPLOAD_BYTES; the JSON routes' smaller limit does not apply to this route). Only
the first bytes of the file are looked at here: that it is a zip archive, as every .xlsx is. The
importer does the deep checks (zip bombs, sheets, rows) in its own process.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.types import Message

from services.subscription.http.problem import Problem

# Room for the multipart framing and the small fields around the file.
FORM_OVERHEAD = 64 * 1024
ZIP = b"PK\x03\x04"
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
TRUE = {"true", "1", "yes", "y", "on", "t"}
FALSE = {"false", "0", "no", "n", "off", "f", ""}
UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Spreadsheet:
    filename: str | None
    content: bytes
    dry_run: bool


class _TooLarge(Exception):
    pass


async def read_upload(
    request: Request, max_bytes: int, check: Callable[[FormData], None] | None = None
) -> Spreadsheet:
    """The uploaded spreadsheet and the dry-run flag, or a problem naming the field at fault.

    `check` sees the form first: the admin pages verify the form's CSRF token with it.
    """
    form = await _form(request, max_bytes)
    try:
        if check is not None:
            check(form)
        dry_run = parse_flag(form.get("dry_run"))
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise field_problem(422, "file", "attach the spreadsheet (.xlsx) as the file `file`")
        content = await file.read(max_bytes + 1)
        filename = clean_filename(file.filename)
    finally:
        await form.close()
    check_content(content, max_bytes)
    return Spreadsheet(filename, content, dry_run)


async def _form(request: Request, max_bytes: int) -> FormData:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise field_problem(415, "file", "send multipart/form-data with the spreadsheet in `file`")
    limit = max_bytes + FORM_OVERHEAD
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(max_bytes)
    received = 0

    async def counted() -> Message:
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise _TooLarge
        return message

    try:
        return await Request(request.scope, counted).form(
            max_files=1, max_fields=8, max_part_size=1024
        )
    except _TooLarge:
        raise too_large(max_bytes) from None
    except HTTPException as exc:  # starlette's answer to a malformed multipart body
        raise field_problem(400, "file", f"the multipart body is malformed: {exc.detail}") from None


def check_content(content: bytes, max_bytes: int) -> None:
    """Refuse what cannot be an .xlsx workbook, before it is stored."""
    if not content:
        raise field_problem(422, "file", "the file is empty")
    if len(content) > max_bytes:
        raise too_large(max_bytes)
    if content.startswith(OLE2):
        raise field_problem(
            415,
            "file",
            "the file is a password-protected workbook or an old .xls file; "
            "save it as an Excel Workbook (.xlsx) without a password",
        )
    if not content.startswith(ZIP):
        raise field_problem(
            415, "file", "the file is not an .xlsx workbook; save it as an Excel Workbook (.xlsx)"
        )


def parse_flag(raw: object) -> bool:
    """A form boolean, forgiving: true/false, 1/0, yes/no, on/off in any case; absent is false."""
    if raw is None:
        return False
    text = raw.strip().casefold() if isinstance(raw, str) else None
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise field_problem(422, "dry_run", "dry_run takes true or false")


def clean_filename(name: str | None) -> str | None:
    """The file's own name, without a client's folder path or control characters."""
    if not name:
        return None
    base = UNPRINTABLE.sub("", re.split(r"[\\/]", name)[-1]).strip()
    return base[:255] or None


def too_large(max_bytes: int) -> Problem:
    return field_problem(
        413, "file", f"the file is over the upload limit of {max_bytes} bytes", slug="too-large"
    )


def field_problem(status: int, field: str, detail: str, slug: str | None = None) -> Problem:
    """A problem naming the form field at fault."""
    return Problem(
        status,
        detail,
        slug=slug or ("validation-error" if status == 422 else None),
        errors=[{"pointer": f"/{field}", "detail": detail}],
    )
