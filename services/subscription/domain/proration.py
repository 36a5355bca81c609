"""Proration of an immediate plan change by days, in exact decimal arithmetic.

The billing period is the calendar period of the plans' cycle that holds the day of the change
(monthly: its calendar month; quarterly: its calendar quarter; semiannual: January-June or
July-December; annual: its calendar year), in UTC: there is no billing-cycle state yet to take
another from. The day of the change counts to the new plan. The credit is the old price for the
days left, the charge the new price for them, each rounded half-up to the currency's minor unit.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from contracts.inner import Proration
from services.subscription.domain.errors import Invalid
from services.subscription.domain.plans import Plan

MONTHS = {"monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12}
# ISO 4217 minor units where they are not 2 (cents).
MINOR_UNITS = {
    **dict.fromkeys(
        ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
         "VND", "VUV", "XAF", "XOF", "XPF"),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}  # fmt: skip


def period(cycle: str, day: date) -> tuple[date, date]:
    """First and last day of the calendar period of the cycle that holds `day`."""
    months = MONTHS[cycle]
    first_month = (day.month - 1) // months * months + 1
    start = date(day.year, first_month, 1)
    after = first_month - 1 + months  # months from January to the next period's start
    next_start = date(day.year + after // 12, after % 12 + 1, 1)
    return start, next_start - timedelta(days=1)


def minor(amount: Fraction, currency: str) -> Decimal:
    """An exact amount rounded half-up to the currency's minor unit (cents for most)."""
    places = MINOR_UNITS.get(currency, 2)
    scaled = amount * 10**places
    units = (scaled.numerator * 2 + scaled.denominator) // (scaled.denominator * 2)
    return Decimal(units).scaleb(-places)


def compatible(old: Plan, new: Plan) -> None:
    """Refuse a change between plans a proration cannot net: other currency, other cycle."""
    if new.fields.currency != old.fields.currency:
        raise Invalid(
            f"plan {new.fields.name} is priced in {new.fields.currency} and the service's plan "
            f"in {old.fields.currency}: a plan change prorates within one currency",
            "/plan_id",
        )
    if new.fields.cycle != old.fields.cycle:
        raise Invalid(
            f"plan {new.fields.name} is billed {new.fields.cycle} and the service's plan "
            f"{old.fields.cycle}: a plan change prorates within one billing cycle",
            "/plan_id",
        )


def prorate(old: Plan, new: Plan, at: datetime) -> Proration:
    """The credit for the old plan and the charge for the new one over the days left."""
    compatible(old, new)
    day = at.astimezone(UTC).date()
    start, end = period(new.fields.cycle, day)
    days = (end - start).days + 1
    left = (end - day).days + 1
    currency = new.fields.currency
    credit = minor(Fraction(old.fields.price) * left / days, currency)
    charge = minor(Fraction(new.fields.price) * left / days, currency)
    return Proration(
        currency=currency,
        cycle=new.fields.cycle,
        period_start=start,
        period_end=end,
        days_in_period=days,
        days_left=left,
        old_price=old.fields.price,
        new_price=new.fields.price,
        credit=credit,
        charge=charge,
        net=charge - credit,
    )
