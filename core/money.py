"""Amounts as people read them: the book's currency (``currency`` in the serving settings; none by
default) before whole amounts with thousands separators, e.g. ``¥12,345`` for ``CNY``.

A known ISO 4217 code shows its sign (:data:`SIGNS`); another code is written before the amount
(``CHF 12,345``). Machine-readable outputs (CSV, JSON) keep plain numbers; they name the currency
beside them where they say it at all.
"""

from __future__ import annotations

import math

SIGNS = {
    "CNY": "¥",
    "RMB": "¥",
    "JPY": "¥",
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "HKD": "HK$",
    "TWD": "NT$",
    "KRW": "₩",
    "INR": "₹",
}
"""The sign shown for a currency code; other codes are shown as the code and a space."""


def normalise_currency(code: str | None) -> str | None:
    """``code`` upper-cased and stripped; None for none or an empty string."""
    if code is None:
        return None
    text = code.strip().upper()
    return text or None


def currency_prefix(code: str | None) -> str:
    """What goes before an amount: the sign, the code and a space, or nothing."""
    found = normalise_currency(code)
    if found is None:
        return ""
    return SIGNS.get(found, f"{found} ")


def money_pattern(code: str | None, digits: int = 0) -> str:
    """A ``str.format`` pattern for one amount: ``"¥{:,.0f}"`` for ``CNY``."""
    return currency_prefix(code).replace("{", "{{").replace("}", "}}") + f"{{:,.{digits}f}}"


def format_money(x: object, code: str | None = None, digits: int = 0) -> str:
    """``x`` as an amount in ``code`` (``""`` for a missing value); a minus sign goes before the
    currency sign (``-¥1,200``)."""
    try:
        value = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    if math.isnan(value):
        return ""
    body = f"{abs(value):,.{digits}f}"
    if body.strip("0,.") == "":
        value = 0.0
    return ("-" if value < 0 else "") + currency_prefix(code) + body
