"""Complaint features from complaints opened before T: counts, severity-weighted counts, complaints
still open at T, resolution times, recency, repeats in one category and satisfaction.

Point in time: a complaint resolved on or after T is open at T, and its resolution time and
satisfaction answer are not known yet, so they are left out.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from core.notes import note, note_text
from features.config import FeatureConfig
from features.dataset import Dataset
from features.pipeline.aggregate import WindowAgg
from features.pipeline.cutoffs import to_days
from features.pipeline.events import EventArrays, make_events, positions, seen_before
from features.pipeline.population import CustomerArrays
from features.pipeline.rfm import safe_ratio

RESOLVED = "resolved_t"


def complaint_columns(ds: Dataset) -> tuple[set[str] | None, list[str]]:
    """Prepared columns this data set allows (None: no table), and notes on removed features."""
    if not ds.has("complaints"):
        return None, [note_text(note("complaints_absent"))]
    return _complaint_columns(ds.tables["complaints"])


def _complaint_columns(cp: pd.DataFrame) -> tuple[set[str], list[str]]:
    """:func:`complaint_columns` of a complaints table that is present."""
    cols, notes = {"t"}, list[str]()
    if "resolved_at" in cp:
        cols |= {RESOLVED, "res_days"}
    else:
        notes.append(note_text(note("complaints_no_resolved")))
    if "severity" in cp:
        cols.add("sev_w")
    else:
        notes.append(note_text(note("complaints_no_severity")))
    if "satisfaction" in cp and "resolved_at" in cp:
        cols.add("satisfaction")
    elif "satisfaction" not in cp:
        notes.append(note_text(note("complaints_no_satisfaction")))
    if "category" in cp:
        cols.add("is_repeat")
    else:
        notes.append(note_text(note("complaints_no_category")))
    return cols, notes


def prepare_complaints(ds: Dataset, customers: CustomerArrays) -> EventArrays:
    """Complaints as arrays: ``t`` (opened), ``resolved_t``, resolution days, severity weight
    (missing severity weighs 1), satisfaction and the repeat flag (see :func:`complaint_columns`)."""
    cp = ds.tables["complaints"]
    available, _ = _complaint_columns(cp)
    columns = {"t": to_days(cp["opened_at"], "complaints.opened_at")}
    if RESOLVED in available:
        columns[RESOLVED] = to_days(cp["resolved_at"], "complaints.resolved_at")
        columns["res_days"] = columns[RESOLVED] - columns["t"]
    if "sev_w" in available:
        columns["sev_w"] = cp["severity"].fillna(1.0).to_numpy(dtype=np.float64)
    if "satisfaction" in available:
        columns["satisfaction"] = cp["satisfaction"].to_numpy(dtype=np.float64)
    if "is_repeat" in available:
        columns["category"] = pd.factorize(cp["category"])[0].astype(np.int64)
    cust = positions(customers.index, cp["customer_id"])
    events = make_events("complaints", len(customers.index), cust, columns, "t", sort=True)
    if "is_repeat" in available:
        columns = dict(events.columns)
        columns["is_repeat"] = seen_before(events.customer, columns.pop("category"))
        events = replace(events, columns=columns)
    return events


def complaint_specs(available: set[str], cfg: FeatureConfig) -> list[WindowAgg]:
    """Window aggregates of complaints over the prepared columns ``available``."""
    ws = cfg.windows_days
    cols = available
    specs = [WindowAgg("_cmp_last", "max", value="t")]
    specs += [WindowAgg(f"complaint_count_{w}d", "count", window_days=w) for w in ws]
    if RESOLVED in cols:
        specs += [
            WindowAgg("_cmp_total", "count"),
            WindowAgg("_cmp_closed", "count", known=RESOLVED),
        ]
        specs += [WindowAgg(f"_cmp_closed_{w}", "count", window_days=w, known=RESOLVED) for w in ws]
        specs += [
            WindowAgg("_res_sum", "sum", value="res_days", known=RESOLVED),
            WindowAgg("_res_n", "count", value="res_days", known=RESOLVED),
            WindowAgg("complaint_resolution_max_days", "max", value="res_days", known=RESOLVED),
        ]
    if "sev_w" in cols:
        specs += [
            WindowAgg(f"complaint_severity_{w}d", "sum", value="sev_w", window_days=w) for w in ws
        ]
    if "satisfaction" in cols:
        specs += [
            WindowAgg("_sat_sum", "sum", value="satisfaction", known=RESOLVED),
            WindowAgg("_sat_n", "count", value="satisfaction", known=RESOLVED),
        ]
    if "is_repeat" in cols:
        specs += [
            WindowAgg(f"complaint_repeat_{w}d", "sum", value="is_repeat", window_days=w) for w in ws
        ]
    return specs


def complaint_features(
    aggs: dict[str, np.ndarray], cutoff_days: float, cfg: FeatureConfig
) -> dict[str, np.ndarray]:
    """Complaint features per customer from the aggregates of :func:`complaint_specs`."""
    ws = cfg.windows_days
    out = {"complaint_recency_days": cutoff_days - aggs["_cmp_last"]}
    out.update({f"complaint_count_{w}d": aggs[f"complaint_count_{w}d"] for w in ws})
    if "_cmp_total" in aggs:
        out["complaint_open_total"] = aggs["_cmp_total"] - aggs["_cmp_closed"]
        for w in ws:
            out[f"complaint_open_{w}d"] = aggs[f"complaint_count_{w}d"] - aggs[f"_cmp_closed_{w}"]
        out["complaint_resolution_mean_days"] = safe_ratio(aggs["_res_sum"], aggs["_res_n"])
        out["complaint_resolution_max_days"] = aggs["complaint_resolution_max_days"]
    out.update(
        {
            k: v
            for k, v in aggs.items()
            if k.startswith(("complaint_severity_", "complaint_repeat_"))
        }
    )
    if "_sat_sum" in aggs:
        out["complaint_satisfaction_mean"] = safe_ratio(aggs["_sat_sum"], aggs["_sat_n"])
    return out
