"""KPI periods: a month ``YYYY-MM``, a quarter ``YYYY-Qn`` or a year ``YYYY`` (business rule 5).

A month is the unit of scoring; a quarter or a year is the list of its months, scored one by one
and averaged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from kpi.config import KpiError

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


@dataclass(frozen=True)
class Period:
    """A labelled period and the first day of each of its months."""

    label: str
    kind: Literal["month", "quarter", "year"]
    months: tuple[pd.Timestamp, ...]

    @property
    def start(self) -> pd.Timestamp:
        return self.months[0]

    @property
    def end(self) -> pd.Timestamp:
        """First day after the period (exclusive end)."""
        return month_end(self.months[-1])


def month_end(month_start: pd.Timestamp) -> pd.Timestamp:
    """First day of the next month: the exclusive end of the month starting at ``month_start``."""
    return month_start + pd.offsets.MonthBegin(1)


def latest_complete_month(as_of: pd.Timestamp, horizon_days: int | None) -> pd.Timestamp:
    """Start of the latest month whose outcome window (``horizon_days`` from its start, or the
    month itself when None) ends within data that runs to ``as_of`` (inclusive)."""
    data_end = as_of.normalize() + pd.Timedelta(days=1)
    start = as_of.normalize().replace(day=1)
    while (
        start + pd.Timedelta(days=horizon_days) if horizon_days else month_end(start)
    ) > data_end:
        start -= pd.offsets.MonthBegin(1)
    return start


def quarter_start(month_start: pd.Timestamp) -> pd.Timestamp:
    """First day of the calendar quarter that contains the month."""
    return pd.Timestamp(year=month_start.year, month=3 * ((month_start.month - 1) // 3) + 1, day=1)


def month_label(month_start: pd.Timestamp) -> str:
    return f"{month_start:%Y-%m}"


def _months(year: int, first: int, count: int) -> tuple[pd.Timestamp, ...]:
    return tuple(pd.Timestamp(year=year, month=first + i, day=1) for i in range(count))


def parse_period(text: str) -> Period:
    """Parse ``2024-06``, ``2024-Q2`` or ``2024``; anything else is a :class:`KpiError`."""
    value = str(text).strip()
    if m := _MONTH.match(value):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise KpiError(f"period {value!r}: month {month} is not between 01 and 12")
        return Period(value, "month", _months(year, month, 1))
    if m := _QUARTER.match(value):
        year, q = int(m[1]), int(m[2])
        return Period(f"{year}-Q{q}", "quarter", _months(year, 3 * q - 2, 3))
    if m := _YEAR.match(value):
        return Period(value, "year", _months(int(m[1]), 1, 12))
    raise KpiError(
        f"period {value!r} is not a month, quarter or year; use YYYY-MM (2024-06), "
        "YYYY-Qn (2024-Q2) or YYYY (2024)"
    )
