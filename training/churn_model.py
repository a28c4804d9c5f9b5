"""The churn model: LightGBM binary classifier, early-stopped and calibrated on the calibration cutoff."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core.bundle import Calibrator, ModelBundle, encode_features
from training.boosting import Fitted, fit_booster, lgb_params
from training.calibration import fit_calibrator
from training.candidates import CandidateFit, fit_candidate
from training.config import TrainingConfig
from training.selection import Selection, fold_rows, select
from training.spec import CHURN_LABEL, FeatureSpec, TrainingDataError, labelled
from training.split import CutoffPlan, Split, rows_at


def fit_churn(
    split: Split, spec: FeatureSpec, cfg: TrainingConfig, metadata: dict[str, Any]
) -> tuple[ModelBundle, Fitted]:
    """Train on the training cutoffs, stop early on log loss at the calibration cutoff, then fit
    the calibrator on the same cutoff's out-of-sample predictions."""
    train, cal = labelled(split.train, CHURN_LABEL), labelled(split.calibration, CHURN_LABEL)
    for name, part in (("training", train), ("calibration", cal)):
        if part[CHURN_LABEL].nunique() < 2:
            raise TrainingDataError(f"the {name} cutoff(s) have only one churn outcome")
    x_train = encode_features(train, spec.names, spec.categories)
    x_cal = encode_features(cal, spec.names, spec.categories)
    params = lgb_params(cfg.churn.params, {"objective": "binary", "metric": "binary_logloss"}, cfg)
    fitted = fit_booster(
        x_train,
        train[CHURN_LABEL].to_numpy(float),
        x_cal,
        cal[CHURN_LABEL].to_numpy(float),
        params,
        spec.categorical,
        cfg.churn.params.max_rounds,
        cfg.early_stopping_rounds,
    )
    raw_cal = np.asarray(fitted.booster.predict(x_cal), dtype=float)
    calibrator = fit_calibrator(
        raw_cal,
        cal[CHURN_LABEL].to_numpy(float),
        cfg.churn.calibration,
        cfg.churn.min_probability,
    )
    bundle = ModelBundle(
        kind="churn",
        booster=fitted.booster,
        feature_names=spec.names,
        categories=spec.categories,
        calibrator=calibrator,
        metadata={
            **metadata,
            "calibration": cfg.churn.calibration,
            "best_iteration": fitted.best_iteration,
            "output": "calibrated probability of churn within the horizon",
        },
    )
    return bundle, fitted


def _calibrated(raw: np.ndarray, y: np.ndarray, cfg: TrainingConfig) -> Calibrator:
    return fit_calibrator(raw, y, cfg.churn.calibration, cfg.churn.min_probability)


def fit_churn_selected(
    frame: pd.DataFrame,
    plan: CutoffPlan,
    spec: FeatureSpec,
    cfg: TrainingConfig,
    metadata: dict[str, Any],
) -> tuple[ModelBundle, ModelBundle, Fitted, Selection]:
    """Choose the candidate by rolling-origin validation, then return the registered model (the
    chosen candidate refitted on every labelled cutoff, the test cutoff included, for the mean
    of its folds' round counts, calibrated on all folds' validation predictions), the evaluated
    model (the chosen candidate as fitted on the last fold: the test metrics and the gate are
    its, out of sample), the refit's training summary and the selection."""
    sel, last = select(frame, plan, spec, cfg)
    chosen = sel.chosen
    oof = sel.oof
    earlier = oof[oof["cutoff"] != plan.test]
    test_fit = last[chosen]
    if earlier[CHURN_LABEL].nunique() == 2:
        eval_cal = _calibrated(
            earlier[chosen].to_numpy(), earlier[CHURN_LABEL].to_numpy(float), cfg
        )
    else:  # one fold: the test fold's held-out rows (its early-stopping customers or cutoff)
        cal = fold_rows(frame, plan.rolling[-1], plan, cfg)[1]
        raw = test_fit.raw(encode_features(cal, spec.names, spec.categories))
        eval_cal = _calibrated(raw, cal[CHURN_LABEL].to_numpy(float), cfg)
    refit_cal = _calibrated(oof[chosen].to_numpy(), oof[CHURN_LABEL].to_numpy(float), cfg)
    rows = labelled(rows_at(frame, plan.refit_cutoffs), CHURN_LABEL)
    rounds = max(int(round(float(np.mean(sel.rounds[chosen])))), 1)
    x = encode_features(rows, spec.names, spec.categories)
    refit = fit_candidate(chosen, spec, cfg, (x, rows[CHURN_LABEL].to_numpy(float)), rounds=rounds)
    summary = {
        "candidate": chosen,
        "validation_cutoffs": [f"{c:%Y-%m-%d}" for c in sel.auc.columns],
        "mean_roc_auc": {s: sel.mean_auc(s) for s in sel.auc.index},
        "mean_log_loss": {s: float(v) for s, v in sel.log_loss.mean(axis=1).items()},
        "best_reference": sel.best_reference,
        "reaches_references": sel.reaches,
        "sentence": sel.sentence(),
    }
    meta = {
        **metadata,
        "calibration": cfg.churn.calibration,
        "output": "calibrated probability of churn within the horizon",
        "selection": summary,
    }

    def bundle(fit: CandidateFit, calibrator: Calibrator, fitted_on: str) -> ModelBundle:
        return ModelBundle(
            kind="churn",
            booster=fit.booster,
            feature_names=spec.names,
            categories=spec.categories,
            calibrator=calibrator,
            metadata={**meta, "best_iteration": fit.rounds, "fitted_on": fitted_on},
            linear=fit.linear,
        )

    registered = bundle(
        refit, refit_cal, "every labelled cutoff: " + plan.describe()["refit_cutoffs"]
    )
    evaluated = bundle(test_fit, eval_cal, "the test fold: " + plan.describe()["train_cutoffs"])
    mean_loss = float(sel.log_loss.loc[chosen].mean())
    fitted = Fitted(refit.booster, rounds, mean_loss, "binary_logloss")
    return registered, evaluated, fitted, sel
