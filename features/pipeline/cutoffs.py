"""Point-in-time conventions: cutoffs, days as numbers, and which cutoffs can be labelled.

The one convention every feature and label follows (see ``docs/features.md``): with cutoff ``T``,
features read events with ``ts < T`` and labels read events with ``T <= ts < T + H``. A look-back
window of ``w`` days is ``T - w <= ts < T``. Times are handled as float days since 1970-01-01 so
that every comparison is a vectorised numpy comparison.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.errors import ChurnError
from features.dataset import Dataset

NS_PER_DAY = 86_400 * 10**9


class FeatureError(ChurnError):
    """The feature pipeline cannot run on this input (bad cutoff, missing data for a setting)."""


def parse_cutoff(cutoff: pd.Timestamp | str, ds: Dataset) -> pd.Timestamp:
    """The cutoff as a naive UTC timestamp; refused when unparsable or after the data's as-of."""
    try:
        ts = pd.Timestamp(cutoff)
    except (ValueError, TypeError) as exc:
        raise FeatureError(f"cutoff {cutoff!r} is not a date (expected YYYY-MM-DD)") from exc
    if ts is pd.NaT or pd.isna(ts):
        raise FeatureError(f"cutoff {cutoff!r} is not a date (expected YYYY-MM-DD)")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    ts = ts.as_unit("ns")
    if ts > ds.as_of:
        raise FeatureError(
            f"cutoff {ts.date()} is after the data's as-of date {ds.as_of.date()}: "
            "features would miss events that are not in the data yet"
        )
    return ts


def timestamp_days(ts: pd.Timestamp) -> float:
    """A timestamp as float days since 1970-01-01."""
    return pd.Timestamp(ts).as_unit("ns").value / NS_PER_DAY


def to_days(values: pd.Series, where: str) -> np.ndarray:
    """A datetime column as float days since 1970-01-01 (NaT -> NaN); ``where`` names it in errors."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    if not pd.api.types.is_datetime64_dtype(values.dtype):
        raise FeatureError(f"{where} must hold dates (datetime64), got dtype {values.dtype}")
    arr = values.to_numpy().astype("datetime64[ns]")
    days = arr.view("i8") / NS_PER_DAY
    days[np.isnat(arr)] = np.nan
    return days


def is_labelled(cutoff: pd.Timestamp, horizon_days: int, as_of: pd.Timestamp) -> bool:
    """Whether the whole label horizon ``[T, T + H)`` lies within the data (ends on or before as-of)."""
    return cutoff + pd.Timedelta(days=horizon_days) <= as_of


def monthly_cutoffs(ds: Dataset, n: int, horizon_days: int) -> list[pd.Timestamp]:
    """The last ``n`` month-start cutoffs whose horizon ends on or before as-of, oldest first.

    Cutoffs on or before the first signup (an empty population) are left out, so fewer than ``n``
    may come back for a short history.
    """
    if n <= 0:
        raise FeatureError(f"number of cutoffs must be positive, got {n}")
    last = ds.as_of - pd.Timedelta(days=horizon_days)
    end = pd.Timestamp(year=last.year, month=last.month, day=1)
    months = pd.date_range(end=end, periods=n, freq="MS")
    first_signup = ds.tables["customers"]["signup_date"].min()
    return [m.as_unit("ns") for m in months if pd.isna(first_signup) or m > first_signup]
