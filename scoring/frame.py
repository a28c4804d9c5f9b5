"""Pure scoring, shared by the API and batch scoring: feature frame -> churn probability, value,
expected value at risk and risk band.

Expected value at risk = P(churn) x predicted value (the order of the at-risk list, docs/business-rules.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from scoring.champions import Champions
from scoring.config import RiskBands

SCORE_COLUMNS = ("churn_probability", "predicted_value", "expected_value_at_risk", "risk_band")
BANDS = ("low", "medium", "high")


_BAND_NAMES = np.array(BANDS, dtype=object)


def risk_band(probability: np.ndarray, bands: RiskBands) -> np.ndarray:
    """``high`` at or above ``bands.high``, ``medium`` at or above ``bands.medium``, else ``low``."""
    p = np.asarray(probability, dtype=np.float64)
    # how many thresholds each probability reaches: 0 low, 1 medium, 2 high (NaN: low)
    reached = np.searchsorted([bands.medium, bands.high], p, side="right")
    reached[np.isnan(p)] = 0
    return _BAND_NAMES[reached]


def _scores(p: np.ndarray, v: np.ndarray, bands: RiskBands) -> dict[str, np.ndarray]:
    return {
        "churn_probability": p,
        "predicted_value": v,
        "expected_value_at_risk": p * v,
        "risk_band": risk_band(p, bands),
    }


Raw = Callable[[np.ndarray], np.ndarray]
"""A booster's raw output for an encoded matrix (e.g. :class:`scoring.compiled.CompiledBooster`)."""


def score_frame(
    frame: pd.DataFrame,
    champions: Champions,
    bands: RiskBands,
    raw_churn: Raw | None = None,
    raw_value: Raw | None = None,
) -> pd.DataFrame:
    """The four score columns for every row of ``frame`` (same index); both models see the frame
    exactly as :meth:`ModelBundle.predict` would (encoded once when they read it alike).
    ``raw_churn`` / ``raw_value`` replace a booster's own predict (compiled trees)."""
    churn, value = champions.churn, champions.value
    x = churn.encoded(frame)
    p = churn.finish(raw_churn(x)) if raw_churn else churn.predict_matrix(x)
    xv = x if champions.same_encoding else value.encoded(frame)
    v = value.finish(raw_value(xv)) if raw_value else value.predict_matrix(xv)
    return pd.DataFrame(_scores(p, v, bands), index=frame.index)


def score_records(
    records: Sequence[Mapping[str, Any]], champions: Champions, bands: RiskBands
) -> list[dict[str, Any]]:
    """The four scores of every API record, in order, as plain Python values: the records go
    straight to the boosters' matrices (no frame), with the same encoding as :func:`score_frame`.
    """
    churn, value = champions.churn, champions.value
    x = churn.encoder.matrix(records)
    p = churn.predict_matrix(x)
    v = value.predict_matrix(x if champions.same_encoding else value.encoder.matrix(records))
    columns = {k: a.tolist() for k, a in _scores(p, v, bands).items()}
    return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def records_frame(records: Sequence[Mapping[str, Any]], champions: Champions) -> pd.DataFrame:
    """API records as a feature frame: one column per feature of either model, in model order.

    Numbers become one float64 block (null is NaN); categorical values stay text (object). A
    feature a record lacks is missing, which only happens when the champion changed between the
    request's checks and its scoring.
    """
    names = champions.feature_names
    categorical = [f for f in names if f in champions.categories]
    numeric = [f for f in names if f not in champions.categories]
    block = np.array(
        [[np.nan if (v := r.get(f)) is None else v for f in numeric] for r in records],
        dtype=np.float64,
    ).reshape(len(records), len(numeric))
    frame = pd.DataFrame(block, columns=numeric)
    texts = pd.DataFrame(
        {c: pd.Series([r.get(c) for r in records], dtype=object) for c in categorical},
        index=frame.index,
    )
    return pd.concat([frame, texts], axis=1)[list(names)]
