"""The rules a model must beat, scored on the same test cutoff.

Churn: the recency rule (longest since last purchase first), the weighted RFM score of business rule 2
(lowest value score first) and a logistic regression on the same features. Each baseline's
ranking is its raw score; its probabilities come from an isotonic map fitted on the calibration
cutoff, exactly like the model's. Value: last period's revenue carried forward.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from training.calibration import fit_isotonic
from training.spec import CHURN_LABEL, FeatureSpec, TrainingDataError, labelled
from training.split import Split

RECENCY = "recency_days"
RFM_SCORE = "rfm_score"
_REVENUE = re.compile(r"^revenue_(\d+)d$")
_RISKIEST = 1e300  # rule score of a customer the rule cannot score (ranked first)


@dataclass(frozen=True)
class BaselineScores:
    """A baseline's test ranking score and calibrated test probabilities."""

    name: str
    rank_score: np.ndarray
    probability: np.ndarray


def _revenue_windows(frame: pd.DataFrame) -> dict[int, str]:
    windows = {int(m.group(1)): c for c in frame.columns if (m := _REVENUE.match(str(c)))}
    if not windows:
        raise TrainingDataError("training set has no revenue_<N>d column (needed by baselines)")
    return windows


def _scaled_revenue(frame: pd.DataFrame, window: int, column: str, horizon_days: int) -> np.ndarray:
    values = frame[column].to_numpy(dtype=np.float64, na_value=np.nan)
    return np.nan_to_num(values) * (horizon_days / window)


def trailing_revenue(frame: pd.DataFrame, horizon_days: int) -> np.ndarray:
    """Revenue in the ``horizon_days`` before the cutoff (``revenue_{H}d``, else the nearest
    window's revenue scaled to H days): the carry-forward forecast."""
    windows = _revenue_windows(frame)
    w = min(windows, key=lambda d: (abs(d - horizon_days), -d))
    return _scaled_revenue(frame, w, windows[w], horizon_days)


def typical_revenue(frame: pd.DataFrame, horizon_days: int) -> np.ndarray:
    """Revenue of the longest look-back window scaled to H days: what a churner takes away.

    The longest window, because a leaver's last weeks are usually quiet already (fade-out), so
    the last H days would understate what the business loses.
    """
    windows = _revenue_windows(frame)
    w = max(windows)
    return _scaled_revenue(frame, w, windows[w], horizon_days)


def _rule_score(frame: pd.DataFrame, column: str, sign: float) -> np.ndarray:
    """sign x column, missing values ranked riskiest (never bought: no recency, lowest RFM)."""
    if column not in frame.columns:
        raise TrainingDataError(f"training set has no {column!r} column for the rule baseline")
    s = sign * frame[column].to_numpy(dtype=np.float64, na_value=np.nan)
    return np.where(np.isnan(s), _RISKIEST, s)


def _signed_log(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


def as_sklearn(frame: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """Feature columns with plain object categoricals and finite-or-NaN float64 numerics."""
    out = {}
    for col in spec.names:
        if col in spec.categories:
            s = frame[col].astype(object)
            out[col] = s.where(s.notna(), "missing").astype(str).astype(object)
        else:
            v = frame[col].to_numpy(dtype=np.float64, na_value=np.nan)
            out[col] = np.where(np.isfinite(v), v, np.nan)
    return pd.DataFrame(out, index=frame.index)


def logistic_pipeline(spec: FeatureSpec, seed: int) -> Pipeline:
    """Signed-log, median imputation with indicators and scaling for numerics; one-hot levels."""
    numeric = [c for c in spec.names if c not in spec.categories]
    numeric_steps = make_pipeline(
        FunctionTransformer(_signed_log),
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        StandardScaler(),
    )
    columns = ColumnTransformer(
        [
            ("num", numeric_steps, numeric),
            ("cat", OneHotEncoder(handle_unknown="ignore"), spec.categorical),
        ]
    )
    return make_pipeline(columns, LogisticRegression(max_iter=2000, random_state=seed))


def churn_baselines(
    split: Split,
    spec: FeatureSpec,
    seed: int,
    max_rows: int = 200_000,
    rows: tuple[pd.DataFrame, pd.DataFrame] | None = None,
    min_probability: float = 0.0,
) -> list[BaselineScores]:
    """Recency rule, weighted RFM score and logistic regression, scored on the test cutoff.

    ``rows`` are (training, calibration) rows, default the split's training and calibration
    cutoffs; the regression trains on at most ``max_rows`` of them (a seeded random sample).
    Probabilities are kept in ``[min_probability, 1 - min_probability]``, as the model's are.
    """
    learn, held = (split.train, split.calibration) if rows is None else rows
    train = labelled(learn, CHURN_LABEL)
    if len(train) > max_rows:
        train = train.sample(max_rows, random_state=seed)
    cal = labelled(held, CHURN_LABEL)
    test = labelled(split.test, CHURN_LABEL)
    y_cal = cal[CHURN_LABEL].to_numpy(float)
    lr = logistic_pipeline(spec, seed).fit(
        as_sklearn(train, spec), train[CHURN_LABEL].to_numpy(float)
    )

    def scorers(frame: pd.DataFrame) -> dict[str, np.ndarray]:
        return {
            "recency_rule": _rule_score(frame, RECENCY, 1.0),
            "rfm_score": _rule_score(frame, RFM_SCORE, -1.0),
            "logistic_regression": lr.predict_proba(as_sklearn(frame, spec))[:, 1],
        }

    cal_scores, test_scores = scorers(cal), scorers(test)
    out = []
    for name, score in test_scores.items():
        cal_cdf, test_cdf = _cdf_pair(cal_scores[name], score)
        calibrator = fit_isotonic(cal_cdf, y_cal)
        p = np.clip(calibrator.apply(test_cdf), min_probability, 1.0 - min_probability)
        out.append(BaselineScores(name, score, p))
    return out


def _cdf_pair(cal: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both scores mapped to [0, 1] by the calibration cutoff's empirical CDF, so that an
    isotonic map can be fitted on unbounded rule scores."""
    ref = np.sort(cal)
    return (
        np.searchsorted(ref, cal, side="right") / len(ref),
        np.searchsorted(ref, test, side="right") / len(ref),
    )


def value_baseline(test: pd.DataFrame, horizon_days: int) -> np.ndarray:
    """Carry-forward: last ``horizon_days`` of revenue predicts the next ``horizon_days``."""
    return trailing_revenue(test, horizon_days)
