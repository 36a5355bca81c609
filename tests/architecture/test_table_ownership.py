"""Every table has one owner: other packages name it only to read it, in their allowed modules.

The scan reads the SQL in every string literal of services/ and plumbing/ (docstrings are prose
and skipped) and every migration under services/*/migrations, looking for schema-qualified
names. A service may name its own schemas anywhere in its package. Another package may read a
schema it does not own only in a module of ALLOWED_READS, and may never write it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Schema -> the service whose migrations create it (None: planned, no migration creates it yet,
# so nobody may name it). test_owners_match_the_migrations keeps this table honest.
OWNERS: dict[str, str | None] = {
    "events": "subscription",  # the event store, reservations, idempotency keys, relay checkpoints
    "access": "subscription",  # API tokens
    "credentials": "subscription",  # RADIUS passwords (NT hashes) and the NAS registry
    "tenants": "subscription",  # a tenant's settings (grace days), PUT /api/v1/settings
    "read": "projections",  # the read models: the projections' published interface
    "imports": "importer",  # import jobs, their files and row errors
    "radius": "projections",  # FreeRADIUS's rlm_sql tables (read by FreeRADIUS, deploy/)
    # Nobody's: the account is a read model (read.accounts, read.invoices, projection account).
    "billing": None,
}

# The only places a package names a schema it does not own: (module glob, schema, table or "*").
# Reads only; a write of another owner's table is reported wherever it is.
ALLOWED_READS: list[tuple[str, str, str]] = [
    # The subscription service's queries read the projections' published interface...
    ("services/subscription/read/*", "read", "*"),
    # ...and the import jobs' state, progress and row errors for GET /imports/{id}.
    ("services/subscription/read/imports.py", "imports", "*"),
    # Projections fill gaps and rebuild from the event log (never write it).
    ("services/projections/*", "events", "events"),
    # The commit-safe event-log reader: events below the horizon, checkpoints it resumes from.
    ("plumbing/eventlog.py", "events", "events"),
    ("plumbing/eventlog.py", "read", "checkpoints"),
    # The radius process restarts FreeRADIUS when the NAS registry's published stamp moves.
    ("services/projections/supervisor.py", "credentials", "clients_stamp"),
]

NAME = re.compile(
    r"(?<![\w.$])(" + "|".join(map(re.escape, OWNERS)) + r")\.([a-z_][a-z0-9_]*)\b", re.IGNORECASE
)
# SQL that changes the table named right after it.
WRITE_BEFORE = re.compile(
    r"\b(insert\s+into|update(\s+only)?|delete\s+from(\s+only)?|truncate(\s+table)?(\s+only)?"
    r"|copy|merge\s+into|alter\s+(table|view|function|sequence)(\s+if\s+exists)?(\s+only)?"
    r"|drop\s+(table|view|materialized\s+view|function|sequence|schema|type)(\s+if\s+exists)?"
    r"|create\s+(or\s+replace\s+)?(table|view|materialized\s+view|function|sequence|type|schema)"
    r"(\s+if\s+not\s+exists)?|create\s+(unique\s+)?index(\s+concurrently)?(\s+if\s+not\s+exists)?"
    r"(\s+\w+)?\s+on(\s+only)?|lock(\s+table)?(\s+only)?|references|grant\s+.*\s+on(\s+table)?)\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    schema: str
    table: str
    owner: str | None
    writes: bool

    def __str__(self) -> str:
        owner = self.owner or "nobody (no migration creates it)"
        what = " (writes it)" if self.writes else ""
        return f"{self.path}:{self.line} names {self.schema}.{self.table} owned by {owner}{what}"


def package_of(path: str) -> str:
    """The package a repository path belongs to: a service's name, or 'plumbing'."""
    parts = path.split("/")
    return parts[1] if parts[0] == "services" else parts[0]


def _may_read(path: str, schema: str, table: str) -> bool:
    return any(
        fnmatch(path, glob) and schema == s and t in ("*", table) for glob, s, t in ALLOWED_READS
    )


def check_sql(path: str, first_line: int, sql: str) -> Iterator[Violation]:
    """The violations in one piece of SQL found in `path`, starting at `first_line`."""
    package = package_of(path)
    for match in NAME.finditer(sql):
        schema, table = match.group(1).lower(), match.group(2).lower()
        owner = OWNERS[schema]
        if owner == package:
            continue
        writes = WRITE_BEFORE.search(sql[max(0, match.start() - 200) : match.start()]) is not None
        if not writes and owner is not None and _may_read(path, schema, table):
            continue
        line = first_line + sql.count("\n", 0, match.start())
        yield Violation(path, line, schema, table, owner, writes)


def _docstrings(tree: ast.AST) -> set[int]:
    nodes = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, nodes)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
        and isinstance(node.body[0].value.value, str)
    }


def check_python(path: str, source: str) -> Iterator[Violation]:
    """The violations in the string literals of one Python module (docstrings skipped)."""
    tree = ast.parse(source, filename=path)
    docstrings = _docstrings(tree)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            yield from check_sql(path, node.lineno, node.value)


def check_migration(path: str, source: str) -> Iterator[Violation]:
    """The violations in one SQL migration (`--` comments skipped)."""
    for number, line in enumerate(source.splitlines(), start=1):
        yield from check_sql(path, number, line.split("--", 1)[0])


def scan(root: Path = ROOT) -> list[Violation]:
    """Every violation in services/ and plumbing/."""
    found: list[Violation] = []
    for file in sorted([*root.glob("services/**/*.py"), *root.glob("plumbing/**/*.py")]):
        path = file.relative_to(root).as_posix()
        found.extend(check_python(path, file.read_text(encoding="utf-8")))
    for file in sorted(root.glob("services/*/migrations/*.sql")):
        path = file.relative_to(root).as_posix()
        found.extend(check_migration(path, file.read_text(encoding="utf-8")))
    return found


CREATE_SCHEMA = re.compile(r"create\s+schema\s+(?:if\s+not\s+exists\s+)?(\w+)", re.IGNORECASE)


def test_owners_match_the_migrations() -> None:
    """OWNERS names, for every schema a migration creates, the service whose migration it is."""
    created = {
        schema.lower(): file.parts[-3]
        for file in ROOT.glob("services/*/migrations/*.sql")
        for schema in CREATE_SCHEMA.findall(file.read_text(encoding="utf-8"))
    }
    assert created == {schema: owner for schema, owner in OWNERS.items() if owner is not None}


def test_tables_are_named_only_by_their_owner_or_an_allowed_reader() -> None:
    violations = scan()
    assert not violations, "\n" + "\n".join(map(str, violations))
