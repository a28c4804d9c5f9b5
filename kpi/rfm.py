"""The book by RFM segment (documents 001 and 004): how many customers each of the eight segments
holds, the value they bring if retained, their expected churn rate and the value at risk, so a
team sees where the value it may lose sits, not only who is at risk."""

from __future__ import annotations

import pandas as pd

from features.pipeline.segments import RFM_SEGMENTS

SUMMARY_COLUMNS = (
    "rfm_segment",
    "customers",
    "share_of_customers",
    "value_if_retained",
    "churn_rate",
    "expected_value_at_risk",
    "share_of_value_at_risk",
)


def segment_summary(predictions: pd.DataFrame) -> pd.DataFrame | None:
    """One row per RFM segment present, most valuable segment first: customers, their share,
    the sum of predicted value, the mean P(churn) (the expected churn rate) and the sum and
    share of expected value at risk. None when no row carries a segment (scored before
    segments existed)."""
    if "rfm_segment" not in predictions:
        return None
    rows = predictions[predictions["rfm_segment"].isin(RFM_SEGMENTS)]
    if rows.empty:
        return None
    num = rows.assign(
        p=pd.to_numeric(rows["churn_probability"], errors="coerce"),
        v=pd.to_numeric(rows["predicted_value"], errors="coerce"),
        r=pd.to_numeric(rows["expected_value_at_risk"], errors="coerce"),
    )
    grouped = num.groupby("rfm_segment", sort=False).agg(
        customers=("customer_id", "size"),
        value_if_retained=("v", "sum"),
        churn_rate=("p", "mean"),
        expected_value_at_risk=("r", "sum"),
    )
    grouped = grouped.reindex([s for s in RFM_SEGMENTS if s in grouped.index])
    grouped["share_of_customers"] = grouped["customers"] / len(predictions)
    total_risk = float(pd.to_numeric(predictions["expected_value_at_risk"]).sum())
    grouped["share_of_value_at_risk"] = (
        grouped["expected_value_at_risk"] / total_risk if total_risk > 0 else float("nan")
    )
    return grouped.reset_index()[list(SUMMARY_COLUMNS)]
