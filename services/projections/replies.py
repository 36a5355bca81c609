"""What FreeRADIUS answers for a login: who may log in, in which group, with which reply items.

Pure functions of one account row (radius.accounts), so that the rlm_sql rows depend only on
the events and their order.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

OPEN = ("Active", "Suspended")
ACTIVE_GROUP = "active"
SUSPENDED_GROUP = "suspended"
"""The walled garden: the FreeRADIUS site answers this group with the configured address list
and rate (WISPGATE_RADIUS_WALLED_GARDEN_LIST, WISPGATE_RADIUS_SUSPENDED_RATE)."""
MAX_BPS = 2**32 - 1  # WISPr-Bandwidth-Max-* are 32-bit integers of bits per second
GIGAWORD = 2**32


@dataclass(frozen=True)
class Account:
    """A PPPoE login or a hotspot account as radius.accounts holds it."""

    tenant_id: str
    item_id: UUID
    subscription_id: UUID
    kind: str
    username: str | None
    status: str
    subscription_status: str
    download_max_mbps: int | None = None
    upload_max_mbps: int | None = None
    download_min_mbps: int | None = None
    upload_min_mbps: int | None = None
    ipv4: tuple[str, ...] = ()
    ipv6: tuple[str, ...] = ()
    profile: str | None = None
    time_limit_minutes: int | None = None
    data_limit_mb: int | None = None

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Account:
        """The account of a radius.accounts row."""
        known = {k: row[k] for k in cls.__dataclass_fields__ if k in row}
        return cls(**{**known, "ipv4": tuple(row["ipv4"]), "ipv6": tuple(row["ipv6"])})


def may_log_in(account: Account) -> bool:
    """An active service with a PPPoE username, or an active hotspot account, of an Active or
    Suspended subscription. Inactive, Cancelled and Completed subscriptions are refused."""
    return (
        bool(account.username)
        and account.status == "active"
        and account.subscription_status in OPEN
    )


def group_of(account: Account) -> str:
    """`suspended` (the walled garden) or `active`."""
    return SUSPENDED_GROUP if account.subscription_status == "Suspended" else ACTIVE_GROUP


def replies(account: Account) -> list[tuple[str, str]]:
    """The reply items of an account that may log in, as (attribute, value).

    A suspended one gets no rate of its own: the walled garden's reply gives it the suspended
    rate and the address list. Its static addresses stay, so the router can place it.
    """
    items: list[tuple[str, str]] = []
    if account.kind == "service" and account.subscription_status != "Suspended":
        items += _rates(account)
    items += _addresses(account)
    if account.kind == "hotspot":
        items += _hotspot_limits(account)
    return items


def mikrotik_rate(
    download: int, upload: int, download_min: int | None = None, upload_min: int | None = None
) -> str:
    """`Mikrotik-Rate-Limit`: rx/tx from the router's side, so upload/download; the minimum
    rates, when given, as the guaranteed (limit-at) part after burst and priority fields."""
    rate = f"{upload}M/{download}M"
    if download_min is None and upload_min is None:
        return rate
    return f"{rate} 0/0 0/0 0/0 8 {upload_min or 0}M/{download_min or 0}M"


def _rates(account: Account) -> list[tuple[str, str]]:
    down, up = account.download_max_mbps, account.upload_max_mbps
    if down is None or up is None:
        return []
    return [
        ("Mikrotik-Rate-Limit", mikrotik_rate(down, up, account.download_min_mbps,
                                              account.upload_min_mbps)),
        ("WISPr-Bandwidth-Max-Down", str(min(down * 1_000_000, MAX_BPS))),
        ("WISPr-Bandwidth-Max-Up", str(min(up * 1_000_000, MAX_BPS))),
    ]  # fmt: skip


def _addresses(account: Account) -> list[tuple[str, str]]:
    """The first single IPv4 address as Framed-IP-Address (a block is routed by the router's own
    configuration), the first IPv6 /64 as Framed-IPv6-Prefix and the first shorter prefix as
    Delegated-IPv6-Prefix (DHCPv6 prefix delegation)."""
    items: list[tuple[str, str]] = []
    single = [a for a in account.ipv4 if "/" not in a]
    if single:
        items.append(("Framed-IP-Address", single[0]))
    networks = [ipaddress.IPv6Network(p) for p in account.ipv6]
    framed = [n for n in networks if n.prefixlen == 64]
    delegated = [n for n in networks if n.prefixlen < 64]
    if framed:
        items.append(("Framed-IPv6-Prefix", str(framed[0])))
    if delegated:
        items.append(("Delegated-IPv6-Prefix", str(delegated[0])))
    return items


def _hotspot_limits(account: Account) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    if account.profile:
        items.append(("Mikrotik-Group", account.profile))
    if account.time_limit_minutes:
        items.append(("Session-Timeout", str(account.time_limit_minutes * 60)))
    if account.data_limit_mb:
        total = account.data_limit_mb * 1024 * 1024
        items.append(("Mikrotik-Total-Limit", str(total % GIGAWORD)))
        if total >= GIGAWORD:
            items.append(("Mikrotik-Total-Limit-Gigawords", str(total // GIGAWORD)))
    return items
