"""Shadow tables: empty copies of a projection's tables that a rebuild fills and swaps in.

Shadows are made with `like ... including all excluding indexes`, which copies columns with
their defaults, the generated `search` expression and check constraints. Their primary keys are
added at once (the folds look rows up by key), every other index of the live table only when the
bulk load is done, several at once: building an index once is far cheaper than updating ten of
them per row. Each shadow index is named `<live index name>_shadow`; the swap renames it to the
live name, so names stay those of the migrations and every later rebuild works the same.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Sequence

import asyncpg

from .projection import SHADOW, Projection

# Every index of a table; `constraint_name` / `constraint_def` for those backing a constraint.
INDEXES = """
select c.relname as name, pg_get_indexdef(i.indexrelid) as definition,
       con.conname as constraint_name, pg_get_constraintdef(con.oid) as constraint_def
from pg_index i
join pg_class c on c.oid = i.indexrelid
left join pg_constraint con on con.conindid = i.indexrelid and con.conrelid = i.indrelid
where i.indrelid = $1::regclass
order by c.relname
"""
# `CREATE [UNIQUE] INDEX name ON read.table USING ...`: what stays when name and table change.
_DEFINITION = re.compile(r"^(CREATE (?:UNIQUE )?INDEX) \S+ ON (?:ONLY )?\S+ (USING .*)$")
INDEX_BUILDERS = max(2, os.cpu_count() or 1)  # connections building shadow indexes at once
INDEX_MEMORY = "256MB"  # maintenance_work_mem of each: large enough to sort in memory


async def create_shadow(conn: asyncpg.Connection, projection: Projection) -> None:
    """Empty shadow copies of a projection's tables, with the primary keys the folds use."""
    async with conn.transaction():
        for table in projection.tables:
            shadow = projection.table(table)
            await conn.execute(f"drop table if exists {shadow}")
            await conn.execute(
                f"create table {shadow} (like {projection.schema}.{table}"
                " including all excluding indexes)"
            )
            if table not in projection.append_only:
                await _add_constraints(conn, projection, table)


async def index_shadows(pool: asyncpg.Pool, projections: Sequence[Projection]) -> None:
    """Give the filled shadows their indexes, several built at once, and planner statistics."""
    later: list[str] = []
    async with pool.acquire() as conn:
        for projection in projections:
            for table in projection.tables:
                if table in projection.append_only:
                    await _add_constraints(conn, projection, table)
                later += await _index_statements(conn, projection, table)
    # Each build is one server process sorting on its own: side by side they use every core.
    # The slowest kinds (GIN, GiST) start first so that they do not finish last on their own.
    later.sort(key=lambda statement: "USING btree" in statement)
    await _run_on(pool, later, INDEX_BUILDERS)
    # A freshly filled table has no planner statistics until autovacuum gets to it; without
    # them filters and text search sort every matching row. The statistics survive the swap.
    analyze = [f"analyze {p.table(t)}" for p in projections for t in p.tables]
    await _run_on(pool, analyze, INDEX_BUILDERS)


async def _run_on(pool: asyncpg.Pool, statements: Sequence[str], connections: int) -> None:
    """Run statements on up to `connections` connections at once, in the order given."""
    queue = list(reversed(statements))

    async def run() -> None:
        async with pool.acquire() as conn:
            while queue:
                statement = queue.pop()
                async with conn.transaction():
                    await conn.execute(f"set local maintenance_work_mem = '{INDEX_MEMORY}'")
                    await conn.execute(statement)

    async with asyncio.TaskGroup() as group:  # one failing cancels the others
        for _ in range(min(connections, len(statements))):
            group.create_task(run())


async def _add_constraints(conn: asyncpg.Connection, projection: Projection, table: str) -> None:
    """Give a shadow table the live table's constraints that have indexes (its primary key)."""
    for index in await conn.fetch(INDEXES, f"{projection.schema}.{table}"):
        if index["constraint_name"]:
            await conn.execute(
                f"alter table {projection.table(table)} add constraint"
                f' "{index["constraint_name"]}{SHADOW}" {index["constraint_def"]}'
            )


async def _index_statements(
    conn: asyncpg.Connection, projection: Projection, table: str
) -> list[str]:
    """`create index` of each live index that backs no constraint, for the shadow table."""
    statements = []
    for index in await conn.fetch(INDEXES, f"{projection.schema}.{table}"):
        match = _DEFINITION.match(index["definition"])
        if not index["constraint_name"] and match is not None:
            create, rest = match.groups()
            shadow = projection.table(table)
            statements.append(f'{create} "{index["name"]}{SHADOW}" ON {shadow} {rest}')
    return statements
