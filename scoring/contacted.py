"""What a list row needs to act on: when the customer was last contacted (the data's ``contacts``
table and the contacts logged in the workspace) and how to reach them (the optional ``name``,
``phone`` and ``email`` columns of the ``customers`` table).

A control row (``treated`` 0) is no contact; a row without ``treated`` counts as one. Days are
counted from the list's as-of date; a contact logged after it counts as 0 days ago. Leaving out
customers contacted within K days (``churn score --skip-contacted-days K``, the workspace's
"contacted" filter) keeps a lead from calling the same customer twice.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CONTACT_DETAILS = ("name", "phone", "email")
"""Optional columns of the customers table passed through to the lists and the customer page."""
LAST_CONTACT = "last_contact_date"
DAYS_SINCE_CONTACT = "days_since_contact"
MAX_SKIP_DAYS = 3650


def last_contacts(*tables: pd.DataFrame | None) -> pd.Series:
    """The latest contact (not a control row) of each customer over ``tables`` (each with
    ``customer_id``, ``ts`` and, optionally, ``treated``), by customer id as text."""
    parts = []
    for table in tables:
        if table is None or table.empty or not {"customer_id", "ts"} <= set(table.columns):
            continue
        rows = table
        if "treated" in rows:
            treated = pd.to_numeric(rows["treated"], errors="coerce")
            rows = rows[treated.isna().to_numpy() | (treated.to_numpy() != 0)]
        ts = pd.to_datetime(rows["ts"], errors="coerce").astype("datetime64[ns]")
        parts.append(pd.DataFrame({"customer_id": rows["customer_id"].astype(str), "ts": ts}))
    if not parts:
        return pd.Series(dtype="datetime64[ns]", name=LAST_CONTACT)
    frame = pd.concat(parts).dropna(subset=["ts"])
    return frame.groupby("customer_id")["ts"].max().rename(LAST_CONTACT)


def days_since_contact(ids: pd.Series, last: pd.Series, asof: str | pd.Timestamp) -> np.ndarray:
    """Whole days from each customer's last contact to ``asof`` (0 for a contact after it; NaN:
    never contacted)."""
    when = pd.to_datetime(last.reindex(ids.astype(str).to_numpy()).to_numpy())
    day = pd.Timestamp(asof).normalize()
    days = (day - pd.DatetimeIndex(when).normalize()).days.to_numpy(dtype=float)
    return np.where(np.isnan(days), np.nan, np.maximum(days, 0.0))


def contacted_within(last: pd.Series, asof: str | pd.Timestamp, days: int) -> frozenset[str]:
    """Customers contacted within ``days`` days before ``asof`` (or after it)."""
    if days <= 0 or last.empty:
        return frozenset()
    since = days_since_contact(pd.Series(last.index), last, asof)
    return frozenset(str(c) for c in last.index[since < days])


def contact_details(customers: pd.DataFrame) -> pd.DataFrame:
    """The customers table's contact columns that are there, by customer id (empty frame with
    no columns when it has none)."""
    present = [c for c in CONTACT_DETAILS if c in customers.columns]
    ids = pd.Index(customers["customer_id"].astype(str), name="customer_id")
    frame = customers[present].astype(object).set_axis(ids)
    frame = frame.where(frame.notna(), None)
    return frame[~frame.index.duplicated()]


def with_contacts(
    rows: pd.DataFrame,
    asof: str | pd.Timestamp,
    last: pd.Series,
    details: pd.DataFrame | None = None,
    skip_days: int = 0,
) -> pd.DataFrame:
    """List rows (``customer_id``, ``rank``) with the contact columns after ``customer_id``:
    ``name``/``phone``/``email`` where ``details`` has them, then ``days_since_contact``; rows
    contacted within ``skip_days`` days left out and ranks renumbered."""
    ids = rows["customer_id"].astype(str)
    since = days_since_contact(ids, last, asof)
    out = rows.copy()
    at = list(out.columns).index("customer_id") + 1
    extra = pd.DataFrame() if details is None else details
    for col in extra.columns:
        out.insert(at, col, extra[col].reindex(ids.to_numpy()).to_numpy())
        at += 1
    out.insert(at, DAYS_SINCE_CONTACT, pd.array(since, dtype="Int64") if len(since) else [])
    if skip_days > 0:
        out = out[~(since < skip_days)].reset_index(drop=True)
        if "rank" in out:
            out["rank"] = range(1, len(out) + 1)
    return out
