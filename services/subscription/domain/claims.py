"""Values a subscription holds uniquely among its tenant's subscriptions.

The handler turns the difference between the claims before and after a decision into
reservations written in the append transaction, where constraints keep them race-free.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Claim:
    """`kind` is unique_id, ipv4, ipv6 (no overlaps), pppoe or hotspot_login."""

    kind: str
    value: str


def claims(
    unique_id: str | None,
    is_open: bool,
    services: list[tuple[list[str], list[str], str | None]],
    hotspot_logins: list[str],
) -> frozenset[Claim]:
    """What a subscription holds: its unique ID forever; addresses and logins while open."""
    held = {Claim("unique_id", unique_id)} if unique_id else set()
    if is_open:
        for ipv4, ipv6, pppoe in services:
            held |= {Claim("ipv4", net) for net in ipv4}
            held |= {Claim("ipv6", net) for net in ipv6}
            if pppoe:
                held.add(Claim("pppoe", pppoe.lower()))
        held |= {Claim("hotspot_login", login.lower()) for login in hotspot_logins}
    return frozenset(held)
