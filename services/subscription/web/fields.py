"""The fields of the pages' forms: label, control and the options of a select."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from contracts.subscription import Status

Control = Literal["text", "number", "select", "textarea", "datetime"]


@dataclass(frozen=True)
class Field:
    """One labelled input; `name` is the API's field name, so its errors find it."""

    name: str
    label: str
    control: Control = "text"
    options: tuple[tuple[str, str], ...] = ()  # (value, label); a select of references: none
    required: bool = False
    hint: str | None = None
    suggestions: tuple[str, ...] = ()  # offered by a text input's datalist, any text accepted
    blank: str | None = None  # a select's empty choice, when it means more than "None"


STATUS_OPTIONS = tuple((s.value, s.value) for s in Status)
ITEM_STATUS = (("active", "active"), ("disabled", "disabled"))
TOUCHPOINT_KINDS = (
    ("call", "Call"),
    ("email", "Email"),
    ("visit", "Visit"),
    ("support_request", "Support request"),
    ("note", "Note"),
)

CHANGE_STATUS = (
    Field("status", "Status", "select", STATUS_OPTIONS, required=True),
    Field("reason", "Reason"),
)
SCHEDULE_STATUS = (
    Field("status", "Status", "select", STATUS_OPTIONS, required=True),
    Field("reason", "Reason", hint="Shown in History when it is carried out"),
    Field("at", "Date", "datetime", required=True, hint="When it takes effect, in your time zone"),
)
ASSIGN_ENGINEER = (Field("engineer_id", "Engineer", "select", required=True),)
REOPEN = (
    Field(
        "reason", "Reason", "textarea", required=True,
        hint="Why it is brought back; it reopens as Inactive",
    ),
)  # fmt: skip
EDIT_SUBSCRIPTION = (
    Field("name", "Subscription Name", required=True),
    Field("contact_id", "Contact", "select", required=True),
    Field("organization_id", "Organization", "select"),
    Field("service_contract_id", "Service Contract", "select", hint="Only contracts added before"),
    Field("description", "Description", "textarea"),
)
QOS_MODES = ("cake", "fq_codel", "htb", "sfq")
RATE_HINT = "Guaranteed rate"
# Where a service's plan and rates come from: a catalogue plan, or a custom plan of its own.
CATALOGUE_PLAN = Field(
    "plan_id", "From the catalogue", "select", blank="Custom plan (name and rates below)",
    hint="A catalogue plan gives the name, rates and QoS mode; a rate typed here overrides it",
)  # fmt: skip
SHAPING = (
    Field("download_max_mbps", "Download max Mbps", "number", required=True),
    Field("upload_max_mbps", "Upload max Mbps", "number", required=True),
    Field("download_min_mbps", "Download min Mbps", "number", hint=RATE_HINT),
    Field("upload_min_mbps", "Upload min Mbps", "number", hint=RATE_HINT),
    Field("qos_mode", "QoS mode", hint="The shaper's queue discipline", suggestions=QOS_MODES),
)
CONNECTION = (
    Field("ipv4", "IPv4 addresses", hint="Addresses or blocks (192.0.2.8/29), comma-separated"),
    Field("ipv6", "IPv6 prefixes", hint="Comma-separated"),
    Field("pppoe_username", "PPPoE username"),
    Field("mac", "MAC"),
    Field("parent_node", "Parent node", hint="Access point or site"),
    Field("installation_address", "Installation address", "textarea"),
    Field("status", "Status", "select", ITEM_STATUS, required=True),
)
# A service on a custom plan, as before the catalogue: its name and maximum rates required.
SERVICE = (Field("plan", "Plan", required=True), *SHAPING, *CONNECTION)
# A service on a catalogue plan: each rate optional, an override of the plan's.
SERVICE_ON_PLAN = (
    *(replace(f, required=False, hint="Empty: the plan's") for f in SHAPING),
    *CONNECTION,
)
# Adding one: a catalogue plan or a custom one (then its name and maximum rates are required,
# which the add route checks, as the form cannot know which will be chosen).
ADD_SERVICE = (
    CATALOGUE_PLAN,
    Field("plan", "Plan", hint="A custom plan's name; a catalogue plan gives its own"),
    *(replace(f, required=False, hint=f.hint or "Required for a custom plan") for f in SHAPING),
    *CONNECTION,
)
EFFECTIVE = (
    ("now", "Now (prorated by days)"),
    ("next_cycle", "At the next billing cycle"),
    ("date", "On the date below"),
)
CHANGE_PLAN = (
    Field("plan_id", "New plan", "select", required=True),
    Field("effective", "Takes effect", "select", EFFECTIVE, required=True),
    Field("effective_at", "Date", "datetime", hint="For “On the date below”, in your time zone"),
)
ADD_DEVICE = (
    Field("name", "Name", required=True),
    Field("type", "Type", required=True, hint="CPE, router, ONT…"),
    Field("vendor", "Vendor"),
    Field("model", "Model"),
    Field("serial", "Serial"),
    Field("mac", "MAC"),
    Field("ip", "IP"),
    Field("parent_node", "Parent node"),
)
DEVICE = (*ADD_DEVICE, Field("service_id", "Service", "select", hint="The service it carries"))
ADD_HOTSPOT = (
    Field("login", "Login", required=True, hint="Login or voucher code"),
    Field("profile", "Profile"),
    Field("time_limit_minutes", "Time limit (minutes)", "number"),
    Field("data_limit_mb", "Data limit (MB)", "number"),
    Field("expires_at", "Expires at", "datetime"),
    Field("status", "Status", "select", ITEM_STATUS, required=True),
)
ADD_TOUCHPOINT = (
    Field("kind", "Kind", "select", TOUCHPOINT_KINDS, required=True),
    Field("note", "Note", "textarea", required=True),
    Field("occurred_at", "Occurred at", "datetime", hint="Leave empty for now"),
)
BILLING_CYCLES = (
    ("monthly", "Monthly"),
    ("quarterly", "Quarterly"),
    ("semiannual", "Semiannual"),
    ("annual", "Annual"),
)
BILLING = (
    Field("plan", "Plan", required=True),
    Field("price", "Price", required=True, hint="e.g. 49.90"),
    Field("currency", "Currency", required=True, hint="e.g. USD"),
    Field("cycle", "Cycle", "select", BILLING_CYCLES, required=True),
    Field("billing_day", "Billing day", "number", required=True, hint="1 to 28"),
    Field("payment_method", "Payment method"),
    Field("billing_address", "Billing address", "textarea"),
)
REFUND = (
    Field("amount", "Amount", required=True, hint="At most what is left to refund"),
    Field("reason", "Reason", hint="Refund, void, chargeback…"),
)
ADD_PAYMENT = (
    Field("amount", "Amount", required=True, hint="e.g. 49.90"),
    Field("currency", "Currency", required=True, hint="e.g. USD"),
    Field("method", "Method", required=True, hint="Cash, bank transfer, M-Pesa…"),
    Field("reference", "Reference"),
    Field("paid_at", "Paid at", "datetime", required=True),
)
NEW_SUBSCRIPTION = (
    Field("contact_id", "Contact", "select", required=True),
    Field("organization_id", "Organization", "select"),
    Field("name", "Subscription Name", required=True),
    Field("status", "Status", "select", STATUS_OPTIONS, required=True),
    Field("engineer_id", "Engineer", "select", required=True),
    Field("service_contract_id", "Service Contract", "select", hint="Only contracts added before"),
    Field("description", "Description", "textarea"),
)
PLAN = (
    Field("name", "Name", required=True),
    Field("price", "Price", required=True, hint="Per cycle, a decimal: 49.90"),
    Field("currency", "Currency", required=True, hint="ISO 4217: USD, EUR, KES…"),
    Field("cycle", "Cycle", "select", BILLING_CYCLES, required=True),
    Field("download_max_mbps", "Download max Mbps", "number", required=True),
    Field("upload_max_mbps", "Upload max Mbps", "number", required=True),
    Field("download_min_mbps", "Download min Mbps", "number", hint=RATE_HINT),
    Field("upload_min_mbps", "Upload min Mbps", "number", hint=RATE_HINT),
    Field("qos_mode", "QoS mode", hint="The shaper's queue discipline", suggestions=QOS_MODES),
    Field("data_cap_gb", "Data cap (GB)", "number", hint="Empty: no cap"),
)
