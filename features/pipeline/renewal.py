"""Renewal features of contractual customers: the contract term and the days to the next renewal.

A contract renews every ``term`` months on the anniversaries of its start (the sign-up day, the
day of the month clipped to the month's end). ``contract_end_date`` is the end of the *current*
term at the export, which lies after many of the cutoffs a training set reads: using it as it
stands would tell a model, at an earlier cutoff, whether the customer renewed after it. So only
the schedule is used: the next anniversary on or after the cutoff, which is the same whether the
contract was renewed after the cutoff or not.

- The term of a plan is the greatest common divisor of the months between sign-up and contract
  end over that plan's customers whose end falls on a sign-up anniversary (monthly plans give 1,
  annual plans 12); without a ``plan`` column, over all of them.
- A contract whose end is not on a sign-up anniversary is scheduled from its end date instead.
- A contract that ended before the cutoff (and was not cancelled, or it would not be scored)
  is shown as ended: negative days.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.dataset import Dataset

RENEWAL_FEATURES = ("days_to_renewal", "contract_term_months")
_EPOCH = np.datetime64("1970-01-01", "D")


@dataclass(frozen=True)
class ContractTerms:
    """Per customer (positions of the customers table): the anchor day of the renewal schedule,
    the term in months (NaN without a contract or a known term) and the contract end, as
    ``datetime64[D]``."""

    anchor: np.ndarray
    term_months: np.ndarray
    end: np.ndarray


def add_months(days: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Dates (``datetime64[D]``) moved by ``k`` whole months, the day clipped to the month's end."""
    month = days.astype("datetime64[M]")
    dom = (days - month.astype("datetime64[D]")).astype(np.int64)
    target = month + k.astype(np.int64)
    dim = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(np.int64)
    return target.astype("datetime64[D]") + np.minimum(dom, dim - 1)


def _months_between(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    return (end.astype("datetime64[M]") - start.astype("datetime64[M]")).astype(np.int64)


def prepare_terms(ds: Dataset) -> ContractTerms | None:
    """The renewal schedule of every customer, or None when the data has no contract ends."""
    customers = ds.tables["customers"]
    if "contract_end_date" not in customers:
        return None
    signup = customers["signup_date"].to_numpy("datetime64[D]")
    end = customers["contract_end_date"].to_numpy("datetime64[D]")
    has = ~np.isnat(end) & ~np.isnat(signup)
    months = np.where(
        has, _months_between(np.where(has, signup, _EPOCH), np.where(has, end, _EPOCH)), 0
    )
    on_schedule = has & (months > 0)
    on_schedule[on_schedule] = (
        add_months(signup[on_schedule], months[on_schedule]) == end[on_schedule]
    )
    plans = (
        customers["plan"].astype("str").fillna("").to_numpy(dtype=object)
        if "plan" in customers
        else np.full(len(customers), "", dtype=object)
    )
    term = np.full(len(customers), np.nan)
    for plan in pd.unique(plans[has]):
        mine = plans == plan
        found = months[mine & on_schedule]
        if len(found):
            term[mine & has] = float(np.gcd.reduce(found))
    anchor = np.where(on_schedule, signup, end)
    return ContractTerms(anchor=anchor, term_months=term, end=end)


def renewal_features(
    terms: ContractTerms | None, rows: np.ndarray, cutoff_days: float
) -> dict[str, np.ndarray]:
    """Days from the cutoff to the next renewal on or after it and the term in months, for the
    customers at positions ``rows`` (NaN without a contract or a known term)."""
    if terms is None:
        return {}
    anchor, term, end = terms.anchor[rows], terms.term_months[rows], terms.end[rows]
    ok = ~np.isnan(term) & ~np.isnat(anchor)
    cut = _EPOCH + np.timedelta64(int(np.floor(cutoff_days)), "D")
    step = np.where(ok, term, 1).astype(np.int64)
    base = np.where(ok, anchor, cut)
    k = np.floor_divide(_months_between(base, np.full(len(rows), cut)), step) * step
    first = add_months(base, k)
    nxt = np.where(first >= cut, first, add_months(base, k + step))
    ended = ~np.isnat(end) & (end < cut)
    nxt = np.where(ended, end, nxt)
    days = (nxt - _EPOCH).astype(np.int64).astype(np.float64) - cutoff_days
    return {
        "days_to_renewal": np.where(ok, days, np.nan),
        "contract_term_months": np.where(ok, term, np.nan),
    }
