"""The two lists of business rule 9, as a retention team reads them: customers still active (or
lapsing) at risk, ranked by expected value at risk, and lapsed customers to win back.

Every row carries who the customer is, where they are in their lifecycle, the scores, the reasons
that raise the risk and a recommended action. The CLI's CSV and the API (JSON and CSV) give the
same columns in the same order; score columns are named after the label horizon
(``churn_probability_90d``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd

from scoring.config import ActionRule

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
        "risk_band",
        "rfm_segment",
        "rfm_score",
        *(f"reason_{i}" for i in range(1, reasons + 1)),
        "recommended_action",
        "churn_model_version",
        "value_model_version",
    )


def recommended_actions(
    rows: pd.DataFrame, asof: pd.Timestamp, rules: Sequence[ActionRule]
) -> np.ndarray:
    """The action of the first rule that applies to each row (empty when none does).

    ``rows`` holds ``lifecycle_status``, ``risk_band``, ``contract_end_date`` and, when the data
    has complaints, ``complaint_open_total``.
    """
    n = len(rows)
    open_complaint = (
        pd.to_numeric(rows["complaint_open_total"], errors="coerce").fillna(0).to_numpy() > 0
        if "complaint_open_total" in rows
        else np.zeros(n, dtype=bool)
    )
    ends = pd.to_datetime(rows["contract_end_date"])
    days_to_end = ((ends - asof).dt.total_seconds() / 86400.0).to_numpy()
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
        conditions.append(ok)
    return np.select(conditions, [r.action for r in rules], "").astype(object)


def present(rows: pd.DataFrame, horizon_days: int, reasons: int = 3) -> pd.DataFrame:
    """Stored or freshly scored prediction rows as list rows: horizon-named score columns,
    dates as ``YYYY-MM-DD``, probabilities to 4 decimals and values to 2, ``rank`` an integer."""
    h = f"_{horizon_days}d"
    out = rows.rename(columns={k: f"{v}{h}" for k, v in SCORE_NAMES.items()})
    if "reasons" in out:
        listed = [_reason_list(r) for r in out["reasons"]]
        low = (out["risk_band"] == "low").to_numpy()
        for j, (p, v) in enumerate(
            zip(rows["churn_probability"], rows["predicted_value"], strict=True)
        ):
            if low[j]:  # why a low-probability customer sits high: the value at stake
                listed[j] = [value_note(float(p), float(v), horizon_days), *listed[j]]
        for i in range(reasons):
            out[f"reason_{i + 1}"] = [r[i] if i < len(r) else "" for r in listed]
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


def value_note(probability: float, value: float, horizon_days: int) -> str:
    """The first reason of a low-band row: it is on the list for the value it would take away."""
    return (
        f"listed for its value: {value:,.0f} over {horizon_days} days if retained, "
        f"although P(churn) is only {probability:.0%}"
    )


def _reason_list(value: object) -> list[str]:
    """A stored ``reasons`` cell (a JSON list, or a list) as a list of sentences."""
    if isinstance(value, str):
        return [str(s) for s in json.loads(value)]
    return [str(s) for s in value] if isinstance(value, list | tuple) else []


def split_lists(predictions: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The at-risk and the win-back rows, each ranked by expected value at risk (rank from 1)."""
    out = {}
    for name, statuses in LIST_LIFECYCLES.items():
        part = predictions[predictions["lifecycle_status"].isin(statuses)]
        part = part.sort_values(
            ["expected_value_at_risk", "customer_id"], ascending=[False, True], kind="stable"
        ).reset_index(drop=True)
        out[name] = part.assign(rank=np.arange(1, len(part) + 1))
    return out
