"""What FreeRADIUS is given for a login, from one account of the radius read model."""

from __future__ import annotations

from dataclasses import replace
from uuid import uuid4

from services.projections.replies import Account, group_of, may_log_in, mikrotik_rate, replies

SERVICE = Account(
    tenant_id="t", item_id=uuid4(), subscription_id=uuid4(), kind="service", username="alice",
    status="active", subscription_status="Active", download_max_mbps=50, upload_max_mbps=10,
    ipv4=("192.0.2.8/29", "192.0.2.10"), ipv6=("2001:db8:1::/64", "2001:db8:2::/56"),
)  # fmt: skip


def test_rates_addresses_and_prefixes_of_an_active_service() -> None:
    assert dict(replies(SERVICE)) == {
        "Mikrotik-Rate-Limit": "10M/50M",
        "WISPr-Bandwidth-Max-Down": "50000000",
        "WISPr-Bandwidth-Max-Up": "10000000",
        "Framed-IP-Address": "192.0.2.10",
        "Framed-IPv6-Prefix": "2001:db8:1::/64",
        "Delegated-IPv6-Prefix": "2001:db8:2::/56",
    }
    assert group_of(SERVICE) == "active"


def test_minimum_rates_are_the_guaranteed_part_upload_first() -> None:
    assert mikrotik_rate(100, 20, 40, None) == "20M/100M 0/0 0/0 0/0 8 0M/40M"


def test_wispr_rates_stay_within_32_bits() -> None:
    fast = replace(SERVICE, download_max_mbps=10_000)
    assert dict(replies(fast))["WISPr-Bandwidth-Max-Down"] == str(2**32 - 1)


def test_a_suspended_service_keeps_its_address_and_loses_its_rates() -> None:
    suspended = replace(SERVICE, subscription_status="Suspended")
    assert may_log_in(suspended) and group_of(suspended) == "suspended"
    assert "Mikrotik-Rate-Limit" not in dict(replies(suspended))
    assert dict(replies(suspended))["Framed-IP-Address"] == "192.0.2.10"


def test_who_may_not_log_in() -> None:
    for status in ("Inactive", "Cancelled", "Completed"):
        assert not may_log_in(replace(SERVICE, subscription_status=status))
    assert not may_log_in(replace(SERVICE, status="disabled"))
    assert not may_log_in(replace(SERVICE, username=None))


def test_hotspot_limits() -> None:
    hotspot = Account(
        tenant_id="t", item_id=uuid4(), subscription_id=uuid4(), kind="hotspot",
        username="guest", status="active", subscription_status="Active", profile="1h",
        time_limit_minutes=60, data_limit_mb=5000,
    )  # fmt: skip
    assert dict(replies(hotspot)) == {
        "Mikrotik-Group": "1h",
        "Session-Timeout": "3600",
        "Mikrotik-Total-Limit": str(5000 * 2**20 % 2**32),
        "Mikrotik-Total-Limit-Gigawords": "1",
    }
