"""Hypothesis strategies built from the contracts: the commands a tenant's streams take.

Field values are mostly valid and reach the edges and beyond: any unicode text (control
characters, NUL and lone surrogates, which JSON escapes can carry, included), text at and past
its length bound and far past any, moments across Python's whole range with offsets of up to
±23:59, IPv4 and IPv6 addresses and blocks (with zones too), MACs, money strings in every
notation Decimal reads, whole numbers at their bounds and of the wrong type.

Ids are slots (`SLOTS`): a few fixed ids per kind of stream or item, so that commands meet the
streams and items earlier commands made. A test gives each slot a fresh id per example
(`with_ids`), since stream ids are unique across tenants.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from ipaddress import ip_network
from typing import Any, get_args
from uuid import UUID

from hypothesis import strategies as st

from contracts import billing as b
from contracts import commands as c
from contracts.commands import DirectoryKind
from contracts.subscription import Status
from contracts.values import EARLIEST, LATEST, MAX_MONEY

NOW = datetime.now(UTC)
KINDS: tuple[DirectoryKind, ...] = get_args(DirectoryKind)


def _slots(prefix: int, count: int) -> tuple[UUID, ...]:
    return tuple(UUID(int=(prefix << 64) | (0x4000 << 48) | i) for i in range(count))


# Slot 0 of every directory kind and of the subscriptions is made by `scaffold`.
SUBSCRIPTIONS = _slots(1, 2)
DIRECTORY: Mapping[DirectoryKind, tuple[UUID, ...]] = {
    kind: _slots(2 + i, 2) for i, kind in enumerate(KINDS)
}
# Services: slot 0 on a custom plan and slot 2 on plan 0, both made by `scaffold`.
SERVICES, HOTSPOTS, DEVICES = _slots(10, 3), _slots(11, 2), _slots(12, 2)
PAYMENTS, REFUNDS, TOUCHPOINTS = _slots(13, 2), _slots(14, 3), _slots(15, 2)
# Plans: slots 0 to 2 made by `scaffold` (slot 1 priced in another currency), slot 3 free.
PLANS = _slots(16, 4)
SCHEDULES = _slots(17, 2)
SLOTS = (
    *SUBSCRIPTIONS,
    *(i for ids in DIRECTORY.values() for i in ids),
    *SERVICES,
    *HOTSPOTS,
    *DEVICES,
    *PAYMENTS,
    *REFUNDS,
    *TOUCHPOINTS,
    *PLANS,
    *SCHEDULES,
)


def with_ids(command: c.Command, ids: Mapping[UUID, UUID]) -> c.Command:
    """The command with every slot (a UUID, or its text inside a field) replaced by its id."""

    def swap(value: Any) -> Any:
        if isinstance(value, UUID):
            return ids.get(value, value)
        if isinstance(value, str):
            for slot, fresh in ids.items():
                if value == str(slot):
                    return str(fresh)
            return value
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    return type(command)(**{k: swap(v) for k, v in dict(command).items()})


# --- Text --------------------------------------------------------------------------------------

# Characters that have broken, or could break, PostgreSQL, JSON, logs or terminals.
NASTY = (
    "\x00", "\x01", "\x08", "\t", "\n", "\r", "\x0b", "\x0c", "\x1b", "\x7f", "\x80", "\x85",
    "\x9f", "\xa0", "\u00ad", "\u200b", "\u200e", "\u2028", "\u2029", "\ufeff", "\ufffd",
    "\ufffe", "\uffff", "\ud800", "\udbff\udfff", "\udfff", "\U0001f600", "\U0010ffff", "%", "'",
    '"', "\\", " ",
)  # fmt: skip
_PLAIN = st.characters(categories=("L", "N"), max_codepoint=0x2FFF) | st.sampled_from(" -.'/")
plain_text = st.text(_PLAIN, min_size=1, max_size=24)
# Every code point, lone surrogates included (JSON's \ud800 escapes carry them).
any_text = st.text(st.characters(codec=None, categories=None), max_size=24) | st.text(max_size=24)
spiked_text = st.builds(
    lambda a, bad, b: a + bad + b, st.text(_PLAIN, max_size=8), st.sampled_from(NASTY), plain_text
)


def _long_text(seed: int, length: int, bad: str) -> str:
    """Incompressible text (mostly CJK, 3 UTF-8 bytes a character) of `length` characters."""
    rng = random.Random(seed)
    chars = [
        chr(rng.choice((rng.randint(0x4E00, 0x9FFF), rng.randint(0x41, 0x7A))))
        for _ in range(length)
    ]
    if bad:
        chars[rng.randrange(length)] = bad
    return "".join(chars)


def long_text(bound: int) -> st.SearchStrategy[str]:
    """Text just within, at and past `bound` characters, and far past any index's row limit."""
    lengths = st.sampled_from((bound - 1, bound, bound + 1, 2000))
    bad = st.just("") | st.sampled_from(NASTY)
    return st.builds(_long_text, st.integers(0, 2**32), lengths, bad)


def mostly(
    usual: st.SearchStrategy[Any], unusual: st.SearchStrategy[Any], odds: int = 7
) -> st.SearchStrategy[Any]:
    """`usual` `odds` times out of `odds + 1`, else `unusual`; shrinks towards `usual`."""
    return st.sampled_from([True] * odds + [False]).flatmap(lambda u: usual if u else unusual)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return mostly(strategy, st.none(), 3)


def texts(bound: int = 200) -> st.SearchStrategy[str]:
    """Text for a field of at most `bound` characters: mostly plain, reaching every edge."""
    padded = st.builds(lambda s, pad: pad + s + pad, plain_text, st.sampled_from((" ", "\t ")))
    at_bound = st.builds(_long_text, st.integers(0, 2**32), st.just(bound), st.just(""))
    usual = st.one_of(
        plain_text,
        padded,
        at_bound,
        st.text(st.characters(exclude_categories=("C",)), min_size=1, max_size=24),
    )
    return mostly(usual, st.one_of(any_text, spiked_text, long_text(bound), st.just("")), 5)


def tokens(bound: int = 64) -> st.SearchStrategy[str]:
    """Logins and usernames: no spaces when valid."""
    word = st.text(
        st.characters(categories=("L", "N"), max_codepoint=0x2FFF), min_size=1, max_size=16
    )
    return mostly(word, texts(bound), 3)


# --- Moments -----------------------------------------------------------------------------------

OFFSETS = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))
_MICRO = timedelta(microseconds=1)
EDGE_MOMENTS = (
    datetime.min.replace(tzinfo=timezone(timedelta(hours=23, minutes=59))),
    datetime.min.replace(tzinfo=timezone(timedelta(hours=-23, minutes=-59))),
    datetime.max.replace(tzinfo=timezone(timedelta(hours=-23, minutes=-59))),
    datetime.max.replace(tzinfo=timezone(timedelta(hours=23, minutes=59))),
    datetime.max.replace(tzinfo=UTC),
    EARLIEST,
    EARLIEST - _MICRO,
    LATEST - _MICRO,
    LATEST,
    EARLIEST.replace(tzinfo=timezone(timedelta(hours=-14))),
    (LATEST - _MICRO).replace(tzinfo=timezone(timedelta(hours=14))),
    (LATEST - _MICRO).replace(tzinfo=timezone(timedelta(hours=-23, minutes=-59))),
    datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-14))),
    datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
)
recent = st.builds(
    lambda seconds, tz: (NOW + timedelta(seconds=seconds)).astimezone(tz),
    st.integers(-20 * 365 * 86400, 2 * 86400),
    OFFSETS,
)
any_moment = st.datetimes(datetime.min, datetime.max, timezones=OFFSETS | st.just(UTC))
in_range = st.datetimes(
    EARLIEST.replace(tzinfo=None) + timedelta(days=1),
    LATEST.replace(tzinfo=None) - timedelta(days=1),
    timezones=OFFSETS,
)
moments = mostly(
    st.one_of(recent, in_range, st.sampled_from(EDGE_MOMENTS[5:])),
    st.one_of(any_moment, st.sampled_from(EDGE_MOMENTS)),
    3,
)
# As the API receives them: ISO 8601 text mostly, naive or malformed at times.
moment_values = mostly(
    moments.map(datetime.isoformat) | moments,
    st.one_of(
        st.datetimes(datetime.min, datetime.max).map(datetime.isoformat),
        st.sampled_from(("10000-01-01T00:00:00Z", "2026-01-31T09:00:00+24:00", "2026-02-30")),
        any_text,
    ),
    5,
)


# --- Addresses ---------------------------------------------------------------------------------

ZONES = st.sampled_from(("eth0", "1", "")) | any_text


def _block(address: Any, prefix: int) -> str:
    return str(ip_network(f"{address}/{prefix}", strict=False))


def addresses(version: int) -> st.SearchStrategy[str]:
    bits = 32 if version == 4 else 128
    address = st.ip_addresses(v=version)
    block = st.builds(_block, address, st.integers(0, bits))
    loose = st.builds(lambda a, p: f"{a}/{p}", address, st.integers(0, bits + 1))
    zoned = st.builds(lambda a, z: f"{a}%{z}", st.ip_addresses(v=6), ZONES)
    return mostly(address.map(str) | block, st.one_of(loose, zoned, any_text), 5)


ipv4s = addresses(4)
ipv6s = addresses(6)
ips = mostly(st.ip_addresses().map(str), addresses(6) | any_text, 5)


def _mac(raw: bytes, style: int) -> str:
    hexes = raw.hex()
    pairs = [hexes[i : i + 2] for i in range(0, 12, 2)]
    return (
        ":".join(pairs),
        "-".join(pairs).upper(),
        hexes,
        f"{hexes[:4]}.{hexes[4:8]}.{hexes[8:]}",
    )[style]


unicast = st.builds(lambda raw: bytes([raw[0] & 0xFE, *raw[1:]]), st.binary(min_size=6, max_size=6))
macs = mostly(
    st.builds(_mac, unicast, st.integers(0, 3)),
    st.builds(_mac, st.binary(min_size=6, max_size=6), st.integers(0, 3)) | any_text,
    5,
)


# --- Numbers -----------------------------------------------------------------------------------

EDGE_MONEY = (
    "0", "-0", "0.0001", "0.00001", "-0.01", "999999999.9999", "1000000000", "1E+8", "1e-4",
    "0E+999999", "0E-4", "1E+999999", "NaN", "sNaN", "Infinity", "-Infinity", "1_000", " 5 ",
    "", "٣", "49.90", "1.5e2",
)  # fmt: skip
money = mostly(
    st.one_of(
        st.decimals(min_value=Decimal("0.01"), max_value=MAX_MONEY - 1, places=2).map(str),
        st.decimals(min_value=Decimal("0.0001"), max_value=MAX_MONEY - 1, places=4).map(str),
        st.integers(1, 10**6),
        st.sampled_from(EDGE_MONEY),
    ),
    st.one_of(
        st.decimals(allow_nan=True, allow_infinity=True).map(str),
        st.decimals(allow_nan=False, allow_infinity=False).map(lambda d: f"{d:E}"),
        st.integers(-1, 10**10),
        st.floats(),
        any_text,
    ),
    5,
)


def wholes(low: int = 1, high: int = 10**9) -> st.SearchStrategy[Any]:
    return mostly(
        st.integers(low, min(high, low + 100)) | st.sampled_from((low, high, high - 1)),
        st.one_of(
            st.sampled_from((low - 1, high + 1, 2**31, 2**63, -(2**63) - 1)),
            st.integers(),
            st.booleans(),
            st.floats(),
            st.integers(low, high).map(str),
        ),
        5,
    )


currencies = mostly(
    st.sampled_from(("USD", "KES", "eur", " EUR ")),
    st.sampled_from(("US", "USDX", "ÜSD")) | any_text,
    5,
)


def choice(options: tuple[str, ...]) -> st.SearchStrategy[Any]:
    return mostly(st.sampled_from(options), any_text | st.none(), 7)


def dates_text() -> st.SearchStrategy[str]:
    return mostly(
        st.dates().map(date.isoformat) | st.sampled_from(("0001-01-01", "9999-12-31")),
        st.one_of(
            st.dates().map(lambda d: d.strftime("%Y%m%d")),
            st.sampled_from(("2026-02-30", "2025-W01-1", "+10000-01-01")),
            any_text,
        ),
        5,
    )


# --- Fields of items ---------------------------------------------------------------------------


def _fields(
    required: Mapping[str, st.SearchStrategy[Any]], optional: Mapping[str, st.SearchStrategy[Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    """Fields with every required one mostly present, some optional ones, an unknown one rarely."""
    complete = st.fixed_dictionaries(dict(required), optional=dict(optional))
    partial = st.fixed_dictionaries({}, optional={**required, **optional})
    unknown = st.builds(lambda d, k: {**d, k: "x"}, complete, st.sampled_from(("id", "type_", "")))
    return mostly(complete, partial | unknown, 9)


SERVICE_REQUIRED = {
    "plan": texts(100),
    "download_max_mbps": wholes(high=1_000_000),
    "upload_max_mbps": wholes(high=1_000_000),
}
SERVICE_OPTIONAL = {
    "download_min_mbps": maybe(wholes(high=1_000_000)),
    "upload_min_mbps": maybe(wholes(high=1_000_000)),
    "qos_mode": maybe(texts(50)),
    "ipv4": st.lists(ipv4s, max_size=3),
    "ipv6": st.lists(ipv6s, max_size=3),
    "pppoe_username": maybe(tokens()),
    "mac": maybe(macs),
    "parent_node": maybe(texts(100)),
    "installation_address": maybe(texts(500)),
    "status": choice(("active", "disabled")),
    "plan_id": maybe(mostly(st.sampled_from(PLANS).map(str), any_text, 7)),
}
service_fields = _fields(SERVICE_REQUIRED, SERVICE_OPTIONAL)
service_changes = st.fixed_dictionaries({}, optional={**SERVICE_REQUIRED, **SERVICE_OPTIONAL})

HOTSPOT_REQUIRED = {"login": tokens()}
HOTSPOT_OPTIONAL = {
    "profile": maybe(texts(50)),
    "time_limit_minutes": maybe(wholes()),
    "data_limit_mb": maybe(wholes()),
    "expires_at": maybe(moment_values),
    "status": choice(("active", "disabled")),
}
hotspot_fields = _fields(HOTSPOT_REQUIRED, HOTSPOT_OPTIONAL)
hotspot_changes = st.fixed_dictionaries({}, optional={**HOTSPOT_REQUIRED, **HOTSPOT_OPTIONAL})

DEVICE_REQUIRED = {"name": texts(100), "type": texts(50)}
DEVICE_OPTIONAL = {
    "vendor": maybe(texts(100)),
    "model": maybe(texts(100)),
    "serial": maybe(texts(100)),
    "mac": maybe(macs),
    "ip": maybe(ips),
    "parent_node": maybe(texts(100)),
    "service_id": maybe(st.sampled_from(SERVICES).map(str) | any_text),
}
device_fields = _fields(DEVICE_REQUIRED, DEVICE_OPTIONAL)
device_changes = st.fixed_dictionaries({}, optional={**DEVICE_REQUIRED, **DEVICE_OPTIONAL})

billing_fields = _fields(
    {
        "plan": texts(100),
        "price": money,
        "currency": currencies,
        "cycle": choice(("monthly", "quarterly", "semiannual", "annual")),
        "billing_day": wholes(1, 28),
    },
    {"payment_method": maybe(texts(50)), "billing_address": maybe(texts(500))},
)
payment_fields = _fields(
    {"amount": money, "currency": currencies, "method": texts(50), "paid_at": moment_values},
    {"reference": maybe(texts(100))},
)


PLAN_REQUIRED = {
    "name": texts(100),
    "download_max_mbps": wholes(high=1_000_000),
    "upload_max_mbps": wholes(high=1_000_000),
    "price": money,
    "currency": currencies,
    "cycle": choice(("monthly", "quarterly", "semiannual", "annual")),
}
PLAN_OPTIONAL = {
    "download_min_mbps": maybe(wholes(high=1_000_000)),
    "upload_min_mbps": maybe(wholes(high=1_000_000)),
    "qos_mode": maybe(texts(50)),
    "data_cap_gb": maybe(wholes(high=10**7)),
}
plan_fields = _fields(PLAN_REQUIRED, PLAN_OPTIONAL)
plan_changes = st.fixed_dictionaries({}, optional={**PLAN_REQUIRED, **PLAN_OPTIONAL})


# --- Commands ----------------------------------------------------------------------------------

subscription_ids = mostly(st.just(SUBSCRIPTIONS[0]), st.just(SUBSCRIPTIONS[1]), 3)
_now = st.just(NOW)


def _entry_fields(kind: DirectoryKind, *, partial: bool) -> st.SearchStrategy[dict[str, Any]]:
    text: dict[DirectoryKind, dict[str, st.SearchStrategy[Any]]] = {
        "contact": {"name": texts(), "email": texts(), "phone": texts(), "address": texts(500)},
        "engineer": {"name": texts(), "email": texts()},
        "service_contract": {
            "number": texts(),
            "title": texts(),
            "starts_on": dates_text(),
            "ends_on": dates_text(),
            "terms": texts(5000),
        },
    }
    fields = text.get(kind, text["contact"])
    values = {
        name: maybe(s) if name not in ("name", "number", "title") else s
        for name, s in fields.items()
    }
    if partial:
        return st.fixed_dictionaries({}, optional={n: maybe(s) for n, s in fields.items()})
    return _fields(values, {})


def _directory_command(kind: DirectoryKind) -> st.SearchStrategy[c.DirectoryCommand]:
    ids = st.sampled_from(DIRECTORY[kind])
    return st.one_of(
        st.builds(
            c.RegisterEntry,
            kind=st.just(kind),
            entry_id=ids,
            fields=_entry_fields(kind, partial=False),
            now=_now,
        ),
        st.builds(
            c.EditEntry,
            kind=st.just(kind),
            entry_id=ids,
            fields=_entry_fields(kind, partial=True),
            now=_now,
        ),
        st.builds(
            c.DeactivateEntry, kind=st.just(kind), entry_id=ids, reason=maybe(texts(500)), now=_now
        ),
        st.builds(
            c.ReactivateEntry, kind=st.just(kind), entry_id=ids, reason=maybe(texts(500)), now=_now
        ),
    )


directory_commands = st.sampled_from(KINDS).flatmap(_directory_command)

_any_entry = st.sampled_from([i for ids in DIRECTORY.values() for i in ids])


def _ref(kind: DirectoryKind) -> st.SearchStrategy[UUID]:
    """Mostly an entry of the right kind, the scaffolded one above all; any entry at times."""
    return mostly(st.sampled_from(DIRECTORY[kind]), _any_entry, 7)


unique_ids = mostly(
    st.integers(2, 10**6).map(lambda n: f"SUB-{n:06d}"),
    st.integers(0, 10**20).map(lambda n: f"SUB-{n}") | texts(),
    3,
)
create_subscription = st.builds(
    c.CreateSubscription,
    subscription_id=mostly(st.just(SUBSCRIPTIONS[1]), st.just(SUBSCRIPTIONS[0]), 5),
    unique_id=unique_ids,
    name=texts(),
    contact_id=_ref("contact"),
    organization_id=maybe(_ref("organization")),
    engineer_id=_ref("engineer"),
    service_contract_id=maybe(_ref("service_contract")),
    status=st.sampled_from(Status),
    description=maybe(texts(5000)),
    now=_now,
)
_ref_text = {
    field: maybe(mostly(_ref(kind).map(str), any_text, 7))
    for field, kind in (
        ("contact_id", "contact"),
        ("organization_id", "organization"),
        ("service_contract_id", "service_contract"),
    )
}
edit_subscription = st.builds(
    c.EditSubscription,
    subscription_id=subscription_ids,
    changes=st.fixed_dictionaries(
        {}, optional={"name": maybe(texts()), "description": maybe(texts(5000)), **_ref_text}
    ),
    now=_now,
)
lifecycle_commands = st.one_of(
    create_subscription,
    edit_subscription,
    st.builds(
        c.ChangeStatus,
        subscription_id=subscription_ids,
        status=st.sampled_from(Status),
        reason=maybe(texts(500)),
        now=_now,
    ),
    st.builds(c.ReopenSubscription, subscription_id=subscription_ids, reason=texts(500), now=_now),
    st.builds(
        c.AssignEngineer, subscription_id=subscription_ids, engineer_id=_ref("engineer"), now=_now
    ),
)


def _item(
    command: type[c.Command], slot: str, ids: tuple[UUID, ...], **more: Any
) -> st.SearchStrategy[Any]:
    return st.builds(
        command,
        subscription_id=st.just(SUBSCRIPTIONS[0]),
        now=_now,
        **{slot: st.sampled_from(ids)},
        **more,
    )


item_commands = st.one_of(
    _item(c.AddService, "service_id", SERVICES, fields=service_fields),
    _item(c.UpdateService, "service_id", SERVICES, changes=service_changes),
    _item(c.RemoveService, "service_id", SERVICES),
    _item(c.AddHotspot, "hotspot_id", HOTSPOTS, fields=hotspot_fields),
    _item(c.UpdateHotspot, "hotspot_id", HOTSPOTS, changes=hotspot_changes),
    _item(c.RemoveHotspot, "hotspot_id", HOTSPOTS),
    _item(c.LinkDevice, "device_id", DEVICES, fields=device_fields),
    _item(c.UpdateDevice, "device_id", DEVICES, changes=device_changes),
    _item(c.UnlinkDevice, "device_id", DEVICES),
)
plan_change_commands = st.one_of(
    _item(
        c.ChangeServicePlan,
        "service_id",
        SERVICES,
        plan_id=st.sampled_from(PLANS),
        effective=st.sampled_from(("now", "next_cycle"))
        | moments.map(datetime.isoformat)
        | any_text,
    ),
    _item(c.CancelPlanChange, "service_id", SERVICES),
    # The scheduler's command, at any moment: due or not.
    _item(c.ApplyPlanChange, "service_id", SERVICES).flatmap(
        lambda cmd: moments.map(lambda at: cmd.model_copy(update={"now": at}))
    ),
)
_plan_ids = st.sampled_from(PLANS)
plan_commands = st.one_of(
    st.builds(c.CreatePlan, plan_id=_plan_ids, fields=plan_fields, now=_now),
    st.builds(c.EditPlan, plan_id=_plan_ids, changes=plan_changes, now=_now),
    st.builds(c.RetirePlan, plan_id=_plan_ids, reason=maybe(texts(500)), now=_now),
)
account_commands = st.one_of(
    st.builds(c.SetBilling, subscription_id=subscription_ids, fields=billing_fields, now=_now),
    _item(c.RecordPayment, "payment_id", PAYMENTS, fields=payment_fields),
    _item(
        c.RefundPayment,
        "payment_id",
        PAYMENTS,
        refund_id=st.sampled_from(REFUNDS),
        amount=money,
        reason=maybe(texts(500)),
    ),
    _item(
        c.LogTouchpoint,
        "touchpoint_id",
        TOUCHPOINTS,
        kind=choice(("call", "email", "visit", "support_request", "note")).map(lambda k: k or ""),
        note=texts(5000),
        occurred_at=maybe(moments | st.datetimes(datetime.min, datetime.max)),
    ),
)

BILLED = {"plan": "Home 30", "price": "30.00", "currency": "USD", "cycle": "monthly",
          "billing_day": 1}  # fmt: skip
# The scheduler's commands at any moment (due or not), and staff's scheduled status changes.
billing_commands = st.one_of(
    st.builds(
        b.IssueInvoice,
        subscription_id=subscription_ids,
        # Mostly the first of a month: the scaffold bills on day 1.
        period_start=mostly(
            st.builds(date, st.integers(2020, 2035), st.integers(1, 12), st.just(1)),
            st.dates(),
            3,
        ),
        now=moments,
    ),
    st.builds(
        b.SuspendOverdue,
        subscription_id=subscription_ids,
        grace_days=mostly(st.integers(0, 30), st.integers(-(10**9), 10**9), 5),
        now=moments,
    ),
    st.builds(b.ReactivatePaid, subscription_id=subscription_ids, now=moments),
    st.builds(
        b.ScheduleStatusChange,
        subscription_id=subscription_ids,
        schedule_id=st.sampled_from(SCHEDULES),
        status=st.sampled_from(Status),
        reason=maybe(texts(500)),
        at=moments,
        now=_now,
    ),
    st.builds(
        b.CancelScheduledStatusChange,
        subscription_id=subscription_ids,
        schedule_id=st.sampled_from(SCHEDULES),
        now=_now,
    ),
    st.builds(
        b.ApplyScheduledStatusChange,
        subscription_id=subscription_ids,
        schedule_id=st.sampled_from(SCHEDULES),
        now=moments,
    ),
)

commands: st.SearchStrategy[c.Command] = st.one_of(
    directory_commands,
    lifecycle_commands,
    item_commands,
    item_commands,
    account_commands,
    plan_commands,
    plan_change_commands,
    billing_commands,
)


def scaffold() -> list[c.Command]:
    """Valid commands that make slot 0 of every directory kind, of the subscriptions, and of
    its services, hotspots, devices and payments; three plans, and a service on plan 0."""
    fields: dict[DirectoryKind, dict[str, str | None]] = {
        "contact": {"name": "Jane Doe", "email": "jane@example.net"},
        "organization": {"name": "Acme Farms"},
        "engineer": {"name": "Alice Ng"},
        "service_contract": {"number": "SC-1", "title": "Rural 50"},
    }
    made: list[c.Command] = [
        c.RegisterEntry(kind=kind, entry_id=DIRECTORY[kind][0], fields=fields[kind], now=NOW)
        for kind in KINDS
    ]
    made.append(
        c.CreateSubscription(
            subscription_id=SUBSCRIPTIONS[0],
            unique_id="SUB-000001",
            name="Home 50M",
            contact_id=DIRECTORY["contact"][0],
            organization_id=DIRECTORY["organization"][0],
            engineer_id=DIRECTORY["engineer"][0],
            service_contract_id=DIRECTORY["service_contract"][0],
            status=Status.ACTIVE,
            now=NOW,
        )
    )
    plan = {
        "name": "Home 30", "download_max_mbps": 30, "upload_max_mbps": 10, "price": "30.00",
        "currency": "USD", "cycle": "monthly",
    }  # fmt: skip
    made += [
        c.CreatePlan(plan_id=PLANS[0], fields=plan, now=NOW),
        c.CreatePlan(plan_id=PLANS[1], fields={**plan, "currency": "EUR"}, now=NOW),
        c.CreatePlan(plan_id=PLANS[2], fields={**plan, "name": "Home 50", "price": "50"}, now=NOW),
    ]
    sub = SUBSCRIPTIONS[0]
    service = {"plan": "Home 50M", "download_max_mbps": 50, "upload_max_mbps": 10}
    device = {"name": "CPE", "type": "cpe", "service_id": str(SERVICES[0])}
    payment = {"amount": "49.90", "currency": "USD", "method": "cash", "paid_at": NOW.isoformat()}
    made += [
        c.AddService(subscription_id=sub, service_id=SERVICES[0], fields=service, now=NOW),
        c.AddService(
            subscription_id=sub,
            service_id=SERVICES[2],
            fields={"plan_id": str(PLANS[0]), "upload_max_mbps": 20},
            now=NOW,
        ),
        c.AddHotspot(subscription_id=sub, hotspot_id=HOTSPOTS[0], fields={"login": "g1"}, now=NOW),
        c.LinkDevice(subscription_id=sub, device_id=DEVICES[0], fields=device, now=NOW),
        c.RecordPayment(subscription_id=sub, payment_id=PAYMENTS[0], fields=payment, now=NOW),
        c.SetBilling(subscription_id=sub, fields=BILLED, now=NOW),
    ]
    return made


__all__ = ["SLOTS", "commands", "scaffold", "with_ids"]
