"""Pure scoring: the API's record path and the batch path give the bundles' own predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.champions import Champions
from scoring.config import RiskBands, ServingConfig
from scoring.frame import (
    SCORE_COLUMNS,
    records_frame,
    risk_band,
    score_frame,
    score_records,
)


def _records(frame: pd.DataFrame, champions: Champions) -> list[dict]:
    """Rows as an API client sends them: text categoricals, null for missing, plus customer_id."""
    cols = ["customer_id", *champions.feature_names]
    plain = frame[cols].astype(object)
    return plain.where(plain.notna(), None).to_dict("records")


def test_risk_band_thresholds_are_inclusive_lower_bounds():
    bands = RiskBands(high=0.5, medium=0.2)
    p = np.array([0.0, 0.199999, 0.2, 0.49, 0.5, 1.0])
    assert list(risk_band(p, bands)) == ["low", "low", "medium", "medium", "high", "high"]


def test_risk_bands_must_be_ordered():
    with pytest.raises(ValueError, match="medium"):
        RiskBands(high=0.3, medium=0.3)


def test_score_frame_is_the_bundles_predictions(champions: Champions, scoring_frame):
    cfg = ServingConfig()
    scores = score_frame(scoring_frame, champions, cfg.risk_bands)
    assert list(scores.columns) == list(SCORE_COLUMNS)
    assert scores.index.equals(scoring_frame.index)
    p = champions.churn.predict(scoring_frame)
    v = champions.value.predict(scoring_frame)
    assert np.array_equal(scores["churn_probability"].to_numpy(), p)
    assert np.array_equal(scores["predicted_value"].to_numpy(), v)
    assert np.array_equal(scores["expected_value_at_risk"].to_numpy(), p * v)
    assert list(scores["risk_band"]) == list(risk_band(p, cfg.risk_bands))
    assert ((p >= 0) & (p <= 1)).all() and (v >= 0).all() and p.std() > 0


def test_api_records_score_exactly_like_the_feature_frame(champions: Champions, scoring_frame):
    bands = ServingConfig().risk_bands
    frame = records_frame(_records(scoring_frame, champions), champions)
    assert list(frame.columns) == list(champions.feature_names)
    expected = score_frame(scoring_frame, champions, bands).reset_index(drop=True)
    pd.testing.assert_frame_equal(score_frame(frame, champions, bands), expected)


def test_a_feature_missing_from_records_is_scored_as_missing(champions: Champions, scoring_frame):
    records = _records(scoring_frame.head(5), champions)
    absent = [{k: v for k, v in r.items() if k != "recency_days"} for r in records]
    as_null = [{**r, "recency_days": None} for r in records]
    bands = ServingConfig().risk_bands
    got = score_frame(records_frame(absent, champions), champions, bands)
    pd.testing.assert_frame_equal(
        got, score_frame(records_frame(as_null, champions), champions, bands)
    )


def _damaged(records: list[dict], champions: Champions, seed: int) -> list[dict]:
    """The records with a fifth of the values null, some keys absent, some unknown levels."""
    rng = np.random.default_rng(seed)
    out = []
    for r in records:
        r = dict(r)
        for name in champions.feature_names:
            draw = rng.random()
            if draw < 0.2:
                r[name] = None
            elif draw < 0.23:
                r.pop(name)
            elif draw < 0.3 and name in champions.categories:
                r[name] = "a level no model has seen"
        out.append(r)
    return out


@pytest.mark.parametrize("shared_matrix", [True, False])
def test_the_record_fast_path_scores_exactly_like_the_frame_path(
    champions: Champions, scoring_frame, shared_matrix: bool
):
    records = _records(scoring_frame, champions)
    records += _damaged(records, champions, seed=1) + _damaged(records, champions, seed=2)
    pair = Champions(champions.churn, champions.value, "3", "7")
    assert pair.same_encoding
    if not shared_matrix:  # each model encodes the records itself, as for models that differ
        pair.__dict__["same_encoding"] = False
    bands = ServingConfig().risk_bands
    expected = score_frame(records_frame(records, pair), pair, bands)
    for part in (slice(None), slice(0, 1), slice(-3, None)):
        got = pd.DataFrame(score_records(records[part], pair, bands))
        want = expected.iloc[part].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want, check_exact=True, check_dtype=False)
    assert len(records) > 300 and expected["churn_probability"].std() > 0
