"""SQL of the subscription list, in shapes whose plans stay fast with a million rows per tenant.

The planner estimates `status = any(...)` and `search like ...` as if the matching rows were
spread evenly over every sort order. When they are not (the `Suspended` rows in `status` order,
a contact's subscriptions in `name` order, `SUB-05` in `created_at` order), walking the sort
index passes hundreds of thousands of rows before the first match. Hence:

- each status is a branch of its own (`status = $n`, answered in order by the indexes that start
  with `(tenant_id, status, ...)`), several branches merged by UNION ALL;
- a text search first walks a bounded number of rows of the list without it, in sort order, and
  keeps the matches (`walk`, which stops at the page's last match); only when that leaves the
  page short does it take the trigram index and sort the matches (`matches`). Either step
  costs at most its bound or the number of matches.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from services.subscription.read.queries import Sort, like_pattern

COLUMNS = """id, unique_id, unique_number, name, status, description, notification_level,
    contact_id, contact_name, organization_id, organization_name, engineer_id, engineer_name,
    service_contract_id, service_contract_number, service_contract_title,
    version, created_at, updated_at"""
EQUALS = ("engineer_id", "organization_id", "contact_id", "service_contract_id")
# "Overdue" from the account read model: owing on an invoice whose due date (a UTC day) has
# passed, or suspended as overdue. "Plan": a service on that catalogue plan.
OVERDUE = """id {} (select subscription_id from read.accounts where tenant_id = $1
    and (overdue or due_on < (now() at time zone 'UTC')::date))"""
ON_PLAN = "id in (select subscription_id from read.services where tenant_id = $1 and plan_id = {})"

# The planner settings of `matches`, local to its transaction: the trigram index is the plan
# whatever the estimate (no sort-index walk, no sequential scan) and no JIT for one page.
BY_TRIGRAMS = """
set local enable_indexscan = off; set local enable_seqscan = off; set local jit = off
"""


class Statement:
    """One statement's SQL conditions and their `$n` arguments, the tenant's always first."""

    def __init__(
        self, tenant_id: str, filters: dict[str, Any], sort: Sort, after: tuple[Any, UUID] | None
    ) -> None:
        self.args: list[Any] = [tenant_id]
        self.where = ["tenant_id = $1"]
        self.sort = sort
        for name in EQUALS:
            if filters.get(name):
                self.where.append(f"{name} = {self.arg(filters[name])}")
        self.where += account_filters(filters, self.arg)
        if after is not None:
            self.args += [_cursor_value(sort.column, after[0]), after[1]]
            self.where.append(sort.after(len(self.args) - 1, len(self.args)))
        self.statuses = sorted(set(filters.get("status") or ()))

    def arg(self, value: Any) -> str:
        """The placeholder of one more argument."""
        self.args.append(value)
        return f"${len(self.args)}"

    def page(self, columns: str, limit: int) -> str:
        """The first `limit` rows of the list without text search, in sort order."""
        rows = self.arg(limit)
        if len(self.statuses) <= 1:
            where = self.where + [f"status = {self.arg(s)}" for s in self.statuses]
            return self._ordered(columns, where, rows)
        branches = [
            f"({self._ordered(columns, [*self.where, f'status = {self.arg(s)}'], rows)})"
            for s in self.statuses
        ]
        return (
            f"select * from ({' union all '.join(branches)}) branches"
            f" order by {self.sort.order_by} limit {rows}"
        )

    def walk(self, q: str, walk: int, limit: int) -> str:
        """The matches among the first `walk` rows of the list in sort order, at most `limit`,
        and the `walk`-th row whether it matches or not (`last`): without it the walk reached
        the end of the list.

        The walk carries only what it orders and filters by; the rows it keeps are read whole
        by their key afterwards.
        """
        page = self.page(f"id, {self.sort.column}, search", walk)
        pattern, last = self.arg(like_pattern(q)), self.arg(walk)
        rows = self.arg(limit + 1)  # room for the `walk`-th row
        return (
            f"select {COLUMNS}, hit, last from ("
            f" select id, walked, search like {pattern} as hit, walked = {last} as last from ("
            f"  select page.*, row_number() over (order by {self.sort.order_by}) as walked"
            f"  from ({page}) page) numbered"
            f" where search like {pattern} or walked = {last}"
            f" order by {self.sort.order_by} limit {rows}"
            f") kept join read.subscriptions using (id) where tenant_id = $1 order by walked"
        )

    def matches(self, q: str, limit: int) -> str:
        """The first `limit` matches of the whole list (to run with BY_TRIGRAMS when `q` has
        trigrams to look up)."""
        where = [*self.where, f"search like {self.arg(like_pattern(q))}"]
        if self.statuses:
            where.append(f"status = any({self.arg(self.statuses)}::text[])")
        return self._ordered(COLUMNS, where, self.arg(limit))

    def _ordered(self, columns: str, where: list[str], rows: str) -> str:
        return (
            f"select {columns} from read.subscriptions where {' and '.join(where)}"
            f" order by {self.sort.order_by} limit {rows}"
        )


def account_filters(filters: dict[str, Any], arg: Callable[[Any], str]) -> list[str]:
    """The conditions of the `overdue` and `plan_id` filters (the tenant is `$1`)."""
    where = []
    if filters.get("overdue") is not None:
        where.append(OVERDUE.format("in" if filters["overdue"] else "not in"))
    if filters.get("plan_id"):
        where.append(ON_PLAN.format(arg(filters["plan_id"])))
    return where


def _cursor_value(column: str, value: Any) -> Any:
    if column in ("created_at", "updated_at"):
        return datetime.fromisoformat(value)
    if column == "unique_number":
        return int(value)
    return str(value)
