"""The value model against the two value forecasts a lead would otherwise use.

On the test cutoff (the last rolling-origin validation cutoff, which the evaluated value model
never saw), among the rows of the value target: the model's mean absolute error against carrying
the last horizon's revenue forward and against the BG/NBD + Gamma-Gamma expectation fitted on the
purchases before the cutoff. For the ``if_retained`` target the BG/NBD expectation is taken given
at least one purchase in the horizon (expected purchases / P(a purchase)), the same question the
model answers. The result goes into both value bundles' metadata (``value_references``); the
promotion gate never lets a value model that does not beat both replace a champion that did.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from core.bundle import ModelBundle
from features.dataset import Dataset
from features.pipeline.btyd import BtydError
from training.bench.transaction_log import BGNBD_SILENT, btyd_scores
from training.config import TrainingConfig
from training.evaluation.baselines import value_baseline
from training.fit import Trained
from training.spec import VALUE_LABEL
from training.value_model import value_rows

CARRY = "carry_forward"
BTYD = "bgnbd_gamma_gamma"


def value_references(ds: Dataset, trained: Trained, cfg: TrainingConfig) -> dict[str, Any]:
    """:func:`compare_value` of the evaluated value model on the test cutoff's value rows."""
    rows = value_rows(trained.split.test, cfg)
    bundle = trained.evaluated["value"]
    return compare_value(ds, rows, bundle, trained.plan.test, trained.plan.horizon_days, cfg)


def compare_value(
    ds: Dataset,
    rows: pd.DataFrame,
    bundle: ModelBundle,
    cutoff: pd.Timestamp,
    horizon_days: int,
    cfg: TrainingConfig,
) -> dict[str, Any]:
    """MAE of ``bundle``, carry-forward and BG/NBD + Gamma-Gamma (fitted on the purchases before
    ``cutoff``) on ``rows``, and whether the model beats both (None figures without rows)."""
    actual = rows[VALUE_LABEL].to_numpy(np.float64)
    preds = {"model": bundle.predict(rows), CARRY: value_baseline(rows, horizon_days)}
    tx = ds.tables.get("transactions")
    if tx is not None and len(tx) and len(rows):
        try:
            scores, _, _ = btyd_scores(ds, rows["customer_id"], cutoff, horizon_days)
        except (BtydError, ValueError, FloatingPointError, np.linalg.LinAlgError):
            scores = None  # the BTYD fit failed on this history: no reference to beat
        if scores is not None:
            value = scores["expected_value"].to_numpy(np.float64)
            if cfg.value.target == "if_retained":
                value = value / np.maximum(1.0 - scores[BGNBD_SILENT].to_numpy(np.float64), 1e-6)
            preds[BTYD] = np.nan_to_num(value)
    mae = {k: float(np.mean(np.abs(v - actual))) if len(actual) else None for k, v in preds.items()}
    refs = {k: v for k, v in mae.items() if k != "model" and v is not None}
    model = mae["model"]
    beats = model is None or all(model < v for v in refs.values())
    return {
        "cutoff": f"{pd.Timestamp(cutoff):%Y-%m-%d}",
        "rows": len(actual),
        "mae": mae,
        "beats_references": bool(beats),
    }


def with_value_references(ds: Dataset, trained: Trained, cfg: TrainingConfig) -> Trained:
    """``trained`` with :func:`value_references` in both value bundles' metadata."""
    refs = value_references(ds, trained, cfg)
    value = replace(trained.value, metadata={**trained.value.metadata, "value_references": refs})
    evaluated = trained.value_evaluated
    if evaluated is not None:
        evaluated = replace(evaluated, metadata={**evaluated.metadata, "value_references": refs})
    return replace(trained, value=value, value_evaluated=evaluated)


def references_line(trained: Trained) -> str:
    """One sentence on the value model against the references, for ``churn train``."""
    refs = trained.value.metadata.get("value_references")
    if not isinstance(refs, dict) or refs["mae"].get("model") is None:
        return "value model: no reference comparison"
    mae = refs["mae"]
    others = ", ".join(
        f"{'carry-forward' if k == CARRY else 'BG/NBD + Gamma-Gamma'} {v:,.2f}"
        for k, v in mae.items()
        if k != "model" and v is not None
    )
    verdict = "beats" if refs["beats_references"] else "does NOT beat"
    return (
        f"value model {verdict} the references on {refs['cutoff']} ({refs['rows']:,} customers): "
        f"mean absolute error {mae['model']:,.2f} vs {others}"
    )
