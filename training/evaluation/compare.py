"""Score models and baselines on the test cutoff with the same metrics (tables of numbers)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.bundle import ModelBundle
from training.config import TrainingConfig
from training.evaluation.baselines import (
    BaselineScores,
    churn_baselines,
    typical_revenue,
    value_baseline,
)
from training.evaluation.metrics import churn_metrics, value_metrics
from training.live import live_mask
from training.spec import CHURN_LABEL, VALUE_LABEL, FeatureSpec, labelled
from training.split import Split
from training.value_model import value_rows

MODEL = "lightgbm"


@dataclass(frozen=True)
class Evaluation:
    """Test metrics per scorer (model first, then baselines) and the model's test predictions."""

    churn: dict[str, dict[str, float]]
    value: dict[str, dict[str, float]]
    churn_test: pd.DataFrame  # customer_id, churned, lost_value, live, p_churn (+ baselines)
    value_test: pd.DataFrame  # customer_id, future_value, value (+ carry_forward)

    def table(self, kind: str) -> pd.DataFrame:
        """Metrics as a frame: one row per scorer."""
        return pd.DataFrame(getattr(self, kind)).T


def churn_bundle_metrics(
    bundle: ModelBundle, test: pd.DataFrame, cfg: TrainingConfig, horizon_days: int
) -> tuple[dict[str, float], np.ndarray]:
    """A churn bundle's metrics on the labelled test rows, and its predictions (also used to
    re-evaluate the champion in the promotion gate)."""
    rows = labelled(test, CHURN_LABEL)
    p = bundle.predict(rows)
    metrics = churn_metrics(
        p,
        rows[CHURN_LABEL].to_numpy(float),
        typical_revenue(rows, horizon_days),
        top_k_shares=cfg.top_k_shares,
        economics=cfg.campaign,
        bins=cfg.calibration_bins,
        live=live_mask(rows),
    )
    return metrics, p


def value_bundle_metrics(
    bundle: ModelBundle, test: pd.DataFrame, cfg: TrainingConfig
) -> tuple[dict[str, float], np.ndarray]:
    """A value bundle's metrics on the test rows of its target (:func:`value_rows`), and its
    predictions."""
    rows = value_rows(test, cfg)
    pred = bundle.predict(rows)
    return value_metrics(rows[VALUE_LABEL].to_numpy(float), pred, cfg.calibration_bins), pred


def evaluate(
    split: Split,
    spec: FeatureSpec,
    churn: ModelBundle,
    value: ModelBundle,
    cfg: TrainingConfig,
    horizon_days: int,
    baseline_rows: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> Evaluation:
    """Models and every baseline on the same labelled test rows. ``baseline_rows``: the rows the
    evaluated churn model learnt from and was calibrated on, for the baselines to do the same
    (default: the split's training and calibration cutoffs)."""
    c_rows = labelled(split.test, CHURN_LABEL)
    y = c_rows[CHURN_LABEL].to_numpy(float)
    lost = typical_revenue(c_rows, horizon_days)
    churn_scores, p = churn_bundle_metrics(churn, split.test, cfg, horizon_days)
    churn_table = {MODEL: churn_scores}
    churn_test = pd.DataFrame(
        {"customer_id": c_rows["customer_id"].to_numpy(), CHURN_LABEL: y, "lost_value": lost}
    )
    churn_test["p_churn"] = p
    baselines: list[BaselineScores] = churn_baselines(
        split, spec, cfg.seed, cfg.baseline_max_rows, baseline_rows, cfg.churn.min_probability
    )
    live = live_mask(c_rows)
    churn_test["live"] = live
    for b in baselines:
        churn_table[b.name] = churn_metrics(
            b.probability,
            y,
            lost,
            top_k_shares=cfg.top_k_shares,
            economics=cfg.campaign,
            bins=cfg.calibration_bins,
            rank_score=b.rank_score,
            live=live,
        )
        churn_test[f"p_{b.name}"] = b.probability

    v_rows = value_rows(split.test, cfg)
    value_scores, v_pred = value_bundle_metrics(value, split.test, cfg)
    carry = value_baseline(v_rows, horizon_days)
    actual = v_rows[VALUE_LABEL].to_numpy(float)
    value_table = {
        MODEL: value_scores,
        "carry_forward": value_metrics(actual, carry, cfg.calibration_bins),
    }
    value_test = pd.DataFrame(
        {
            "customer_id": v_rows["customer_id"].to_numpy(),
            VALUE_LABEL: actual,
            "value": v_pred,
            "carry_forward": carry,
        }
    )
    return Evaluation(churn_table, value_table, churn_test, value_test)
