"""Every projection by name."""

from __future__ import annotations

from collections.abc import Sequence

from .account import AccountProjection
from .directory import DirectoryProjection
from .history import HistoryProjection
from .inner import InnerProjection
from .plans import PlansProjection
from .projection import Projection
from .radius import RadiusProjection
from .subscriptions import SubscriptionsProjection

PROJECTIONS: dict[str, type[Projection]] = {
    p.name: p
    for p in (
        DirectoryProjection,
        SubscriptionsProjection,
        HistoryProjection,
        InnerProjection,
        PlansProjection,
        AccountProjection,
        RadiusProjection,
    )
}


def chosen(names: Sequence[str] | None = None) -> list[type[Projection]]:
    """The projections named (all of them when none is), refusing unknown names."""
    if not names:
        return list(PROJECTIONS.values())
    unknown = sorted(set(names) - set(PROJECTIONS))
    if unknown:
        raise ValueError(f"unknown projection(s) {unknown}; known: {sorted(PROJECTIONS)}")
    return [PROJECTIONS[n] for n in names]
