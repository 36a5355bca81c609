"""A job's error report, bounded: what a file's failed rows may make the importer keep.

Every failed row is counted, but only the first ones are kept for the report (the job's
`errors` and errors.xlsx): at most `max_rows` of them, their cells and messages together at most
`max_bytes`, each message at most `MAX_MESSAGE_CHARS` characters. The report is the file's first
failed rows and nothing after the first one that did not fit, so it can say "the first N"; the
job's counters carry it over an attempt's restart, and its message says when it was cut.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from .jobs import Failure, Job, Progress

MAX_MESSAGE_CHARS = 1_000


@dataclass
class Report:
    max_rows: int
    max_bytes: int
    rows: int = 0
    bytes: int = 0
    cut: bool = False

    @classmethod
    def of(cls, job: Job, max_rows: int, max_bytes: int) -> Report:
        """The report as the job's earlier attempts left it."""
        return cls(max_rows, max_bytes, job.rows_reported, job.report_bytes, job.report_cut)

    def bounded(self, progress: Progress) -> Progress:
        """The batch's outcome with only the failed rows the report still has room for."""
        kept: list[Failure] = []
        size = 0
        for failure in progress.failures:
            if self.cut:
                break
            failure = _shortened(failure)
            cost = _size(failure)
            if self.rows >= self.max_rows or self.bytes + cost > self.max_bytes:
                self.cut = True
                break
            kept.append(failure)
            self.rows += 1
            self.bytes += cost
            size += cost
        unreported = len(progress.failures) - len(kept)
        return replace(progress, failures=kept, unreported=unreported, report_bytes=size)


def _shortened(failure: Failure) -> Failure:
    if all(len(e.message) <= MAX_MESSAGE_CHARS for e in failure.errors):
        return failure
    errors = [
        e.model_copy(update={"message": e.message[: MAX_MESSAGE_CHARS - 1] + "…"})
        if len(e.message) > MAX_MESSAGE_CHARS
        else e
        for e in failure.errors
    ]
    return Failure(failure.row, errors, failure.cells)


def _size(failure: Failure) -> int:
    """The bytes a failed row takes in the report: its cells as stored, its messages."""
    cells = len(json.dumps(failure.cells, ensure_ascii=False).encode())
    return cells + sum(len(e.message.encode()) + len(e.column or "") for e in failure.errors)
