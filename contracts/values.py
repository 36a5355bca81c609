"""Values an ISP types: addresses, prefixes, MACs, money. Parsed strictly, stored normalised."""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

_MAC_HEX = re.compile(r"^[0-9a-f]{12}$")
_MAC_SEPARATORS = re.compile(r"[\s:.\-]")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_MONEY = Decimal("1000000000")


def normalize_mac(raw: str) -> str:
    """`AA-BB-CC-DD-EE-FF`, `aabb.ccdd.eeff`, `AABBCCDDEEFF` … as `aa:bb:cc:dd:ee:ff`."""
    digits = _MAC_SEPARATORS.sub("", raw.strip().lower())
    if not _MAC_HEX.match(digits):
        raise ValueError(f"{raw!r} is not a MAC address (12 hex digits, e.g. aa:bb:cc:dd:ee:ff)")
    if int(digits[:2], 16) & 1:
        raise ValueError(f"{raw!r} is a multicast MAC address, not a device's")
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def _check_usable(network: ipaddress.IPv4Network | ipaddress.IPv6Network, raw: str) -> None:
    if network.is_loopback or network.is_multicast or network.is_link_local:
        raise ValueError(f"{raw!r} is a loopback, multicast or link-local address")
    if network.network_address.is_unspecified:
        raise ValueError(f"{raw!r} is the unspecified address")


def parse_ipv4(raw: str) -> str:
    """An IPv4 address (`192.0.2.10`) or block (`192.0.2.8/29`), normalised."""
    text = raw.strip()
    try:
        network = ipaddress.IPv4Network(text, strict=True)
    except ipaddress.NetmaskValueError:
        raise ValueError(f"{raw!r} has an invalid prefix length") from None
    except ValueError:
        loose = _loose(ipaddress.IPv4Network, text)
        hint = f"; did you mean {loose}?" if loose else ""
        raise ValueError(f"{raw!r} is not an IPv4 address or block{hint}") from None
    _check_usable(network, raw)
    return str(network.network_address) if network.prefixlen == 32 else str(network)


def parse_ipv6(raw: str) -> str:
    """An IPv6 prefix (`2001:db8:100::/56`) or address, normalised."""
    text = _unzoned(raw).strip()
    try:
        network = ipaddress.IPv6Network(text, strict=True)
    except ValueError:
        loose = _loose(ipaddress.IPv6Network, text)
        hint = f"; did you mean {loose}?" if loose else ""
        raise ValueError(f"{raw!r} is not an IPv6 prefix or address{hint}") from None
    _check_usable(network, raw)
    return str(network.network_address) if network.prefixlen == 128 else str(network)


def parse_ip(raw: str) -> str:
    """A single IPv4 or IPv6 address (a device's management address), without a zone."""
    text = _unzoned(raw).strip()
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(f"{raw!r} is not an IP address") from None
    return str(address)


def _unzoned(raw: str) -> str:
    """The text, if it names no IPv6 zone (`fe80::1%eth0`): PostgreSQL's inet holds none."""
    if "%" in raw:
        raise ValueError(f"{raw!r} names a zone (%...): give the address alone")
    return raw


def _loose(kind: type, text: str) -> str | None:
    try:
        return str(kind(text, strict=False))
    except ValueError:
        return None


def parse_money(raw: str | int | float | Decimal, *, positive: bool = False) -> Decimal:
    """A money amount as a Decimal with at most 4 decimal places; floats are refused."""
    if isinstance(raw, float):
        raise ValueError('send money as a decimal string ("49.90"), not a float')
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise ValueError(f"{raw!r} is not a decimal amount") from None
    if not value.is_finite():
        raise ValueError(f"{raw!r} is not a decimal amount")
    if value.as_tuple().exponent < -4:  # type: ignore[operator]
        raise ValueError(f"{raw!r} has more than 4 decimal places")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{raw!r} must be {'above' if positive else 'at least'} 0")
    if value >= MAX_MONEY:
        raise ValueError(f"{raw!r} is too large")
    return value


def parse_currency(raw: str) -> str:
    """An ISO 4217 code, upper case."""
    code = raw.strip().upper()
    if not _CURRENCY.match(code):
        raise ValueError(f"{raw!r} is not a currency code (ISO 4217, e.g. USD, EUR, KES)")
    return code


# Text. C0 and C1 control characters (a NUL breaks PostgreSQL's text and jsonb, others corrupt
# logs, CSV and terminals), DEL, and lone surrogates (valid JSON escapes, but not encodable as
# UTF-8) are refused in every text a person can type; tab and line breaks only where a text may
# span lines (notes, descriptions, addresses).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_LINE_BREAKS = re.compile("[\t\n\r]")


def check_text(text: str, *, multiline: bool = False) -> str:
    """The text, if it holds no character that has no place in it; ValueError saying which."""
    found = _CONTROL.search(text) or (None if multiline else _LINE_BREAKS.search(text))
    if found:
        return _refuse_character(found.group())
    return text


def _refuse_character(char: str) -> str:
    raise ValueError(f"must not contain the control character U+{ord(char):04X}")


# Moments. Every moment is stored and shown in UTC, and read models convert it into other
# offsets; a moment near year 1 or 9999 (.NET's DateTime.MinValue and MaxValue) overflows such a
# conversion. Years 1900 to 8999 leave a day's margin for every offset at both ends.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def check_moment(value: datetime) -> datetime:
    """The moment, if it has a time zone and lies within EARLIEST..LATEST; ValueError otherwise."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("needs a time zone (e.g. Z or +03:00)")
    try:
        moment = value.astimezone(UTC)
    except OverflowError:
        moment = None
    if moment is None or not EARLIEST <= moment < LATEST:
        raise ValueError(f"must lie between {EARLIEST:%Y} and {LATEST.year - 1}")
    return value
