"""The uplift model's rows: each contact (or control row) with the product's point-in-time features
at the first day of the contact's month and whether the customer churned within the horizon after it.

Features read only events before that day, so nothing the contact caused (or the contact itself:
the ``contacts`` table is no feature) reaches them; the label is the product's churn label at that
cutoff. A customer not in the population at the cutoff (not active then) is left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from core.uplift import TREATED
from features.config import FeatureConfig
from features.dataset import Dataset
from features.pipeline.build import build_training_set
from training.spec import CHURN_LABEL

CAMPAIGN = "campaign_id"


@dataclass(frozen=True)
class UpliftRows:
    """Labelled contact rows split by time: campaigns to learn from, campaigns to judge on."""

    train: pd.DataFrame
    holdout: pd.DataFrame
    notes: tuple[str, ...] = ()


def contact_cutoffs(contacts: pd.DataFrame) -> pd.Series:
    """The cutoff of each contact: the first day of its month."""
    return contacts["ts"].dt.to_period("M").dt.to_timestamp().astype("datetime64[ns]")


def contact_rows(
    ds: Dataset,
    features: FeatureConfig,
    horizon_days: int,
    frame: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every contact whose horizon has ended by the as-of date, with features and label.

    ``frame`` (a training set of the same data and feature config) supplies the rows of cutoffs
    it already has; the other contact months are built here.
    """
    contacts = ds.tables.get("contacts")
    if contacts is None or contacts.empty:
        return pd.DataFrame()
    c = contacts[contacts["treated"].notna() & contacts["customer_id"].notna()].copy()
    c["cutoff"] = contact_cutoffs(c)
    c = c[c["cutoff"] + pd.Timedelta(days=horizon_days) <= ds.as_of]
    c = c.sort_values("ts", kind="stable").drop_duplicates(["customer_id", "cutoff"])
    if c.empty:
        return pd.DataFrame()
    cutoffs = sorted(c["cutoff"].unique())
    have = set() if frame is None else set(pd.to_datetime(frame["cutoff"].unique()))
    missing = [pd.Timestamp(x) for x in cutoffs if pd.Timestamp(x) not in have]
    keys = c[["customer_id", "cutoff", TREATED, *([CAMPAIGN] if CAMPAIGN in c else [])]]
    keys = keys.assign(customer_id=keys["customer_id"].astype("str"))
    contacted = pd.MultiIndex.from_frame(keys[["customer_id", "cutoff"]])
    parts = []
    if frame is not None:
        parts.append(_contacted(frame, contacted))
    if missing:
        parts.append(_contacted(build_training_set(ds, missing, features), contacted))
    rows = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    rows = rows.assign(
        cutoff=rows["cutoff"].astype("datetime64[ns]"),
        customer_id=rows["customer_id"].astype("str"),
    )
    out = rows.merge(keys, on=["customer_id", "cutoff"], how="inner")
    out = out[out[CHURN_LABEL].notna()].reset_index(drop=True)
    out[TREATED] = out[TREATED].astype(int)
    return out


def _contacted(rows: pd.DataFrame, contacted: pd.MultiIndex) -> pd.DataFrame:
    """The rows of contacted (customer, cutoff) pairs, in their order: a training set holds
    every customer at every cutoff, and copying it whole costs more than the uplift fit."""
    at = pd.MultiIndex.from_arrays(
        [rows["customer_id"].astype("str"), rows["cutoff"].astype("datetime64[ns]")]
    )
    return rows[at.isin(contacted)]


def split_rows(rows: pd.DataFrame, test_cutoff: pd.Timestamp, horizon_days: int) -> UpliftRows:
    """Campaigns whose outcome was known by ``test_cutoff`` train; the later ones, up to the
    test cutoff, are held out (as the churn model is tested on a later cutoff than it learnt)."""
    h = pd.Timedelta(days=horizon_days)
    learn = rows["cutoff"] + h <= test_cutoff
    held = ~learn & (rows["cutoff"] <= test_cutoff)
    return UpliftRows(rows[learn].reset_index(drop=True), rows[held].reset_index(drop=True))
