"""The named Python hooks a mapping spec may refer to, for what YAML cannot say.

``fix:`` names a repair of a typed snapshot frame (returning notes of what it changed); ``rules:``
names a data set's simple rules as churn scores (higher = riskier), the baselines of ``churn bench``
and ``churn train-snapshot``. Both read the snapshot's feature names (``snake`` of the source's).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from core.notes import note, note_text

Fix = Callable[[pd.DataFrame], tuple[pd.DataFrame, list[str]]]
Rules = Callable[[pd.DataFrame], dict[str, np.ndarray]]


def telco_fill_unbilled(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Telco: a blank ``TotalCharges`` at tenure 0 is a customer not billed yet, so 0.0."""
    unbilled = frame["total_charges"].isna() & (frame["tenure"] == 0)
    if not unbilled.any():
        return frame, []
    frame = frame.assign(total_charges=frame["total_charges"].mask(unbilled, 0.0))
    return frame, [note_text(note("telco_unbilled", n=int(unbilled.sum())))]


def telco_rules(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Telco: month-to-month contract, then shortest tenure."""
    m2m = (frame["contract"] == "Month-to-month").to_numpy(dtype=np.float64)
    tenure = frame["tenure"].to_numpy(dtype=np.float64)
    return {
        "month-to-month contract": m2m,
        "month-to-month, then shortest tenure": m2m * 1000.0 - tenure,
    }


def iranian_rules(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Iranian: complained, then non-active status."""
    complains = frame["complains"].to_numpy(dtype=np.float64)
    inactive = (frame["status"] == 2).to_numpy(dtype=np.float64)
    return {
        "complained": complains,
        "complained, then non-active status": 2.0 * complains + inactive,
    }


def ecommerce_rules(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """E-commerce: complained, then shortest tenure."""
    complain = frame["complain"].to_numpy(dtype=np.float64)
    tenure = frame["tenure"].to_numpy(dtype=np.float64)
    shortest = -np.nan_to_num(tenure, nan=np.nanmedian(tenure))
    return {"complained": complain, "complained, then shortest tenure": complain * 1000 + shortest}


FIXES: dict[str, Fix] = {"telco_fill_unbilled": telco_fill_unbilled}
RULES: dict[str, Rules] = {
    "telco": telco_rules,
    "iranian": iranian_rules,
    "ecommerce": ecommerce_rules,
}
