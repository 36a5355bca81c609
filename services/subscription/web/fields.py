"""The fields of the pages' forms: label, control and the options of a select."""

from __future__ import annotations

from dataclasses import dataclass
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
ASSIGN_ENGINEER = (Field("engineer_id", "Engineer", "select", required=True),)
ADD_SERVICE = (
    Field("plan", "Plan", required=True),
    Field("download_max_mbps", "Download max Mbps", "number", required=True),
    Field("upload_max_mbps", "Upload max Mbps", "number", required=True),
    Field("ipv4", "IPv4 addresses", hint="Addresses or blocks (192.0.2.8/29), comma-separated"),
    Field("ipv6", "IPv6 prefixes", hint="Comma-separated"),
    Field("pppoe_username", "PPPoE username"),
    Field("mac", "MAC"),
    Field("parent_node", "Parent node", hint="Access point or site"),
    Field("status", "Status", "select", ITEM_STATUS, required=True),
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
