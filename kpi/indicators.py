"""CRM indicators of documents 001 and 004 per manager and month, shown beside the 100 points
(never inside them): repeat purchases, contact response and conversion, the average cost of a
contact, upsells and complaints among the active book.

:func:`indicator_counts` gives the numerators and denominators (columns starting with ``_``) so
team rows pool them; :func:`indicator_rates` turns them into rates in [0, 1]. A rate whose data
is missing (no contacts table, no transaction kind) is missing, and ``notes`` says why.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.economics import ContactCost
from features.contract import CONTACT_OUTCOMES
from features.dataset import Dataset
from features.pipeline.rfm import is_refund
from kpi.portfolio import MANAGER, assigned_customers

REPEAT_LOOKBACK_DAYS = 365
"""A buyer of the month is a repeat buyer when they also bought in this many days before it."""
RESPONDED = tuple(o for o in CONTACT_OUTCOMES if o != "no_answer")
"""Contact outcomes that count as a response: reached, accepted or declined."""
INDICATOR_COUNTS = (
    "_buyers",
    "_repeat_buyers",
    "_contacts_made",
    "_contacts_responded",
    "_contacts_accepted",
    "_contact_cost",
    "_upsold",
    "_complainers",
    "_active",
)
INDICATORS = (
    "repeat_purchase_rate",
    "contact_response_rate",
    "contact_conversion_rate",
    "avg_contact_cost",
    "upsell_rate",
    "complaint_rate",
)


def _per(keys: pd.Series, index: pd.Index) -> pd.Series:
    """How many distinct customers of each manager (``keys``: manager per customer row)."""
    return keys.groupby(keys).size().reindex(index, fill_value=0).astype(float)


def indicator_counts(
    ds: Dataset,
    start: pd.Timestamp,
    end: pd.Timestamp,
    book: pd.DataFrame,
    index: pd.Index,
    cost: ContactCost,
) -> pd.DataFrame:
    """The counts behind the indicators of ``[start, end)`` for the managers of ``index``;
    ``book`` holds the active customers at ``start`` (``customer_id``, ``account_manager_id``)."""
    out = pd.DataFrame(index=index)
    notes: list[str] = []
    owners = assigned_customers(ds).set_index("customer_id")
    owner = owners[MANAGER]
    out["_active"] = _per(book[MANAGER], index)
    active = set(book["customer_id"].astype("str"))

    tx = ds.tables["transactions"]
    tx = tx.assign(customer_id=tx["customer_id"].astype("str"))
    bought = tx[~is_refund(tx)]
    month = bought[(bought["ts"] >= start) & (bought["ts"] < end)]
    earlier = bought[(bought["ts"] >= start - pd.Timedelta(days=REPEAT_LOOKBACK_DAYS))]
    earlier = earlier[earlier["ts"] < start]
    buyers = pd.Series(month["customer_id"].unique(), dtype="str")
    buyers = buyers[buyers.isin(owner.index)]
    repeat = buyers[buyers.isin(set(earlier["customer_id"]))]
    out["_buyers"] = _per(buyers.map(owner), index)
    out["_repeat_buyers"] = _per(repeat.map(owner), index)

    if "kind" in month.columns:
        upsold = pd.Series(
            month.loc[month["kind"] == "upsell", "customer_id"].unique(), dtype="str"
        )
        upsold = upsold[upsold.isin(active)]
        out["_upsold"] = _per(upsold.map(owner), index)
    else:
        out["_upsold"] = np.nan
        notes.append("no transaction kind: upsell_rate missing")

    complaints = ds.table("complaints")
    if complaints is None:
        out["_complainers"] = np.nan
        notes.append("no complaints table: complaint_rate missing")
    else:
        opened = complaints[(complaints["opened_at"] >= start) & (complaints["opened_at"] < end)]
        who = pd.Series(opened["customer_id"].astype("str").unique(), dtype="str")
        who = who[who.isin(active)]
        out["_complainers"] = _per(who.map(owner), index)

    contacts = ds.table("contacts")
    cols = ("_contacts_made", "_contacts_responded", "_contacts_accepted", "_contact_cost")
    if contacts is None:
        out[list(cols)] = np.nan
        notes.append("no contacts table: contact response, conversion and cost missing")
    else:
        made = contacts[
            (contacts["treated"] == 1) & (contacts["ts"] >= start) & (contacts["ts"] < end)
        ]
        made = made.assign(customer_id=made["customer_id"].astype("str"))
        made = made[made["customer_id"].isin(owner.index)]
        keys = made["customer_id"].map(owner)
        outcome = made["outcome"] if "outcome" in made.columns else pd.Series(index=made.index)
        if "cost" in made.columns:
            each = pd.to_numeric(made["cost"], errors="coerce").to_numpy(dtype=float)
        else:
            profile = owners.reindex(made["customer_id"])
            each = cost.resolve(
                profile.get("segment"),
                profile.get("plan"),
            )
        out["_contacts_made"] = _per(keys, index)
        out["_contacts_responded"] = _count(outcome.isin(RESPONDED), keys, index)
        out["_contacts_accepted"] = _count(outcome == "accepted", keys, index)
        costs = pd.Series(each, index=made.index)
        out["_contact_cost"] = costs.groupby(keys).sum().reindex(index, fill_value=0.0)
    out["notes"] = "; ".join(notes)
    return out


def _count(mask: pd.Series, keys: pd.Series, index: pd.Index) -> pd.Series:
    return mask.astype(float).groupby(keys).sum().reindex(index, fill_value=0.0)


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    return (num / den.where(den > 0)).astype(float)


def indicator_rates(frame: pd.DataFrame) -> pd.DataFrame:
    """The indicators from the counts of :func:`indicator_counts` (managers or pooled teams)."""
    out = frame.copy()
    out["repeat_purchase_rate"] = _ratio(out["_repeat_buyers"], out["_buyers"])
    out["contact_response_rate"] = _ratio(out["_contacts_responded"], out["_contacts_made"])
    out["contact_conversion_rate"] = _ratio(out["_contacts_accepted"], out["_contacts_responded"])
    out["avg_contact_cost"] = _ratio(out["_contact_cost"], out["_contacts_made"])
    out["upsell_rate"] = _ratio(out["_upsold"], out["_active"])
    out["complaint_rate"] = _ratio(out["_complainers"], out["_active"])
    return out
