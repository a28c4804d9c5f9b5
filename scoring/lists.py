"""The two lists of business rule 9, as a retention team reads them: customers still active (or
lapsing) at risk, ranked by the expected benefit of a contact (:mod:`scoring.benefit`; rows
without one follow by expected value at risk), and lapsed customers to win back, ranked by
expected value at risk.

Every row carries who the customer is, where they are in their lifecycle, the scores, one line on
why it is listed, the reasons that raise the risk and a recommended action. The CLI's CSV and the API (JSON and CSV) give the
same columns in the same order; score columns are named after the label horizon
(``churn_probability_90d``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.lang import Lang
from features.shown import category
from scoring.benefit import WHY_COLUMNS, why_lines
from scoring.config import ActionRule
from scoring.reasons import cells_sentences

AT_RISK = "at_risk"
WIN_BACK = "win_back"
LIST_LIFECYCLES = {AT_RISK: ("active", "lapsing"), WIN_BACK: ("lapsed",)}
SCORE_NAMES = {
    "churn_probability": "churn_probability",
    "predicted_value": "value_if_retained",
    "expected_value_at_risk": "expected_value_at_risk",
}
PROBABILITY_DECIMALS = 4
VALUE_DECIMALS = 2
RFM_DECIMALS = 2


def list_columns(horizon_days: int, reasons: int = 3) -> tuple[str, ...]:
    """The columns of both lists, in order."""
    h = f"_{horizon_days}d"
    return (
        "rank",
        "asof",
        "customer_id",
        "account_manager_id",
        "segment",
        "plan",
        "lifecycle_status",
        "last_purchase_date",
        "days_since_last_purchase",
        "contract_end_date",
        f"churn_probability{h}",
        f"value_if_retained{h}",
        f"expected_value_at_risk{h}",
        "benefit",
        "risk_band",
        "rfm_segment",
        "rfm_score",
        "why_listed",
        *(f"reason_{i}" for i in range(1, reasons + 1)),
        "recommended_action",
        "churn_model_version",
        "value_model_version",
    )


def recommended_actions(
    rows: pd.DataFrame, asof: pd.Timestamp, rules: Sequence[ActionRule]
) -> np.ndarray:
    """The action of the first rule that applies to each row (empty when none does).

    ``rows`` holds ``lifecycle_status``, ``risk_band``, ``contract_end_date``, ``benefit`` (a
    missing benefit is not worth a contact) and, when the data has complaints,
    ``complaint_open_total``.
    """
    n = len(rows)
    open_complaint = (
        pd.to_numeric(rows["complaint_open_total"], errors="coerce").fillna(0).to_numpy() > 0
        if "complaint_open_total" in rows
        else np.zeros(n, dtype=bool)
    )
    ends = pd.to_datetime(rows["contract_end_date"])
    days_to_end = ((ends - asof).dt.total_seconds() / 86400.0).to_numpy()
    benefit = rows["benefit"] if "benefit" in rows else pd.Series(np.nan, index=rows.index)
    worth = pd.to_numeric(benefit, errors="coerce").fillna(0.0).to_numpy(float) > 0
    conditions = []
    for rule in rules:
        ok = np.ones(n, dtype=bool)
        if rule.lifecycle is not None:
            ok &= rows["lifecycle_status"].isin(rule.lifecycle).to_numpy()
        if rule.risk_band is not None:
            ok &= rows["risk_band"].isin(rule.risk_band).to_numpy()
        if rule.open_complaint is not None:
            ok &= open_complaint == rule.open_complaint
        if rule.contract_ends_within_days is not None:
            ok &= days_to_end < rule.contract_ends_within_days  # NaN (no contract) is False
        if rule.worth_a_contact is not None:
            ok &= worth == rule.worth_a_contact
        conditions.append(ok)
    return np.select(conditions, [r.action for r in rules], "").astype(object)


def present(
    rows: pd.DataFrame,
    horizon_days: int,
    reasons: int = 3,
    lang: Lang = "en",
    money: str = "{:,.0f}",
) -> pd.DataFrame:
    """Stored or freshly scored prediction rows as list rows: horizon-named score columns,
    dates as ``YYYY-MM-DD``, probabilities to 4 decimals and values to 2, ``rank`` an integer;
    the reasons and the line on why a row is listed in ``lang`` (:func:`named_values` names
    the other values people read). Column names stay English identifiers."""
    h = f"_{horizon_days}d"
    out = rows.rename(columns={k: f"{v}{h}" for k, v in SCORE_NAMES.items()})
    if "reasons" in out:
        listed = cells_sentences(out["reasons"].tolist(), lang, reasons)
        for i in range(reasons):
            out[f"reason_{i + 1}"] = [r[i] if i < len(r) else "" for r in listed]
    out["benefit"] = pd.to_numeric(
        rows["benefit"] if "benefit" in rows else pd.Series(np.nan, index=rows.index),
        errors="coerce",
    ).round(VALUE_DECIMALS)
    read = [c for c in (*WHY_COLUMNS, "asof") if c in rows]
    out["why_listed"] = why_lines(rows[read], horizon_days, lang, money)
    for col in ("last_purchase_date", "contract_end_date"):
        dates = pd.to_datetime(out[col])
        out[col] = dates.dt.strftime("%Y-%m-%d").astype(object).where(dates.notna(), None)
    out[f"churn_probability{h}"] = (
        out[f"churn_probability{h}"].astype(float).round(PROBABILITY_DECIMALS)
    )
    for col in (f"value_if_retained{h}", f"expected_value_at_risk{h}"):
        out[col] = out[col].astype(float).round(VALUE_DECIMALS)
    if "rfm_score" in out:
        out["rfm_score"] = pd.to_numeric(out["rfm_score"], errors="coerce").round(RFM_DECIMALS)
    days = pd.to_numeric(out["days_since_last_purchase"], errors="coerce")
    out["days_since_last_purchase"] = days.astype("Int64")
    out["rank"] = out["rank"].astype(int)
    return out.reindex(columns=list(list_columns(horizon_days, reasons)))


NAMED_COLUMNS = ("lifecycle_status", "risk_band", "rfm_segment", "recommended_action")
"""The list columns whose fixed values are named per language (``core/words/values.yaml``)."""


def named_values(
    rows: pd.DataFrame, lang: Lang, columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """List rows (:func:`present`) with lifecycle, risk band, RFM segment and recommended action
    (or only ``columns``) named in ``lang``, for people reading a list (a CSV export, ``churn
    score --lang``); English keeps the stored identifiers."""
    if lang == "en":
        return rows
    out = rows.copy()
    for col in NAMED_COLUMNS if columns is None else columns:
        if col in out:
            out[col] = [v if not isinstance(v, str) else category(col, v, lang) for v in out[col]]
    return out


def list_order(rows: pd.DataFrame, name: str) -> pd.DataFrame:
    """``rows`` in the list's default order: the at-risk list by benefit (missing last), then
    expected value at risk; the win-back list by expected value at risk; customer id breaks ties."""
    keys = ["expected_value_at_risk", "customer_id"]
    if name == AT_RISK and "benefit" in rows:
        keys = ["benefit", *keys]
    return rows.sort_values(
        keys, ascending=[k == "customer_id" for k in keys], kind="stable", na_position="last"
    ).reset_index(drop=True)


def split_lists(predictions: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The at-risk and the win-back rows, each in its default order (:func:`list_order`), ranked
    from 1."""
    out = {}
    for name, statuses in LIST_LIFECYCLES.items():
        part = list_order(predictions[predictions["lifecycle_status"].isin(statuses)], name)
        out[name] = part.assign(rank=np.arange(1, len(part) + 1))
    return out
