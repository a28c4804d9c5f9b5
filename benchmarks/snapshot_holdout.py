"""The model ``churn train-snapshot`` registers against LightGBM with default settings, on a 30%
stratified holdout of each shared snapshot data set, and Telco's cross-validated figures.

For each data set the rows are split once, stratified and with duplicate rows kept together, into
70% and 30%. The 70% is what a user would hand to ``churn train-snapshot``: the job's own fit
(:func:`training.snapshot.job.fit_snapshot`, without MLflow) gives the churn model it registers.
LightGBM with default settings (``LGBMClassifier()``) and logistic regression are trained on the
same 70%. All are scored on the 30%, with a 95% paired bootstrap interval of the differences.
Telco's 5-fold CV (``churn bench --only telco``'s protocol) is run too, against logistic
regression.

    .venv/bin/python benchmarks/snapshot_holdout.py --data-root ../shared/data
"""

# ruff: noqa: E402 - the sys.path fix below must run before the project imports

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE))

import lightgbm as lgb
import numpy as np
from purchase_logs import bootstrap_auc
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedShuffleSplit

from core.bundle import encode_features
from features.adapters.hooks import Rules
from features.adapters.importer import get_adapter
from features.adapters.mapping import SnapshotMapping, apply_spec, load_spec, spec_rules
from features.adapters.snapshot import LABEL, SnapshotData
from training.config import TrainingConfig
from training.evaluation.baselines import as_sklearn, logistic_pipeline
from training.snapshot.job import SnapshotJobConfig, fit_snapshot, load_snapshot, no_rules
from training.snapshot.models import cross_validate, snapshot_spec

SETS = ("telco", "iranian", "ecommerce", "bankchurners")
_SPECS = _HERE.parent / "features" / "adapters" / "specs"
SPEC_ONLY = {"bankchurners"}  # mapping specs in features/adapters/specs/, not shipped adapters
OURS = "train-snapshot model"
DEFAULT = "LightGBM defaults"
LOGISTIC = "logistic regression"


def holdout_split(data: SnapshotData, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, holdout) row positions: a stratified share of the duplicate groups held out."""
    y = data.frame[LABEL].to_numpy(np.float64)
    ids, first, inverse = np.unique(data.groups, return_index=True, return_inverse=True)
    split = StratifiedShuffleSplit(n_splits=1, test_size=share, random_state=seed)
    _, held = next(split.split(np.zeros(len(ids)), y[first]))
    out = np.isin(inverse, held)
    rows = np.arange(len(y))
    return rows[~out], rows[out]


def subset(data: SnapshotData, rows: np.ndarray) -> SnapshotData:
    """The snapshot restricted to ``rows`` (a user's file holding only those customers)."""
    return replace(
        data, frame=data.frame.iloc[rows].reset_index(drop=True), groups=data.groups[rows]
    )


def load_set(name: str, root: Path) -> tuple[SnapshotData, Rules]:
    """A shipped adapter's snapshot, or one read through its mapping spec as a user would
    (``churn train-snapshot --spec FILE``), with its rule baselines (none without a hook)."""
    if name not in SPEC_ONLY:
        return load_snapshot(name, root / get_adapter(name).folder)
    spec = load_spec(_SPECS / f"{name}.yaml")
    assert isinstance(spec, SnapshotMapping) and spec.folder
    data = apply_spec(spec, root / spec.folder).data
    assert isinstance(data, SnapshotData)
    return data, spec_rules(spec) or no_rules


def holdout(name: str, root: Path, share: float, seed: int, resamples: int) -> dict:
    """Scores of the registered model, LightGBM defaults and logistic regression on the holdout."""
    data, rules = load_set(name, root)
    cfg = TrainingConfig()
    train, test = holdout_split(data, share, seed)
    t0 = time.perf_counter()
    fitted = fit_snapshot(subset(data, train), rules, cfg, SnapshotJobConfig())
    t_ours = time.perf_counter() - t0
    frame, spec = data.frame, snapshot_spec(data)
    y = frame[LABEL].to_numpy(np.float64)
    x = encode_features(frame, spec.names, spec.categories)
    default = lgb.LGBMClassifier(verbosity=-1, random_state=seed, n_jobs=1)
    default.fit(x.iloc[train], y[train])
    x_lr = as_sklearn(frame, spec)
    lr = logistic_pipeline(spec, cfg.seed).fit(x_lr.iloc[train], y[train])
    scores = {
        OURS: (fitted.registered or fitted.churn).predict(frame.iloc[test]),
        DEFAULT: default.predict_proba(x.iloc[test])[:, 1],
        LOGISTIC: lr.predict_proba(x_lr.iloc[test])[:, 1],
    }
    y_test = y[test]
    auc = {k: float(roc_auc_score(y_test, s)) for k, s in scores.items()}
    boot = bootstrap_auc(y_test, scores, resamples, seed)
    diffs = {}
    for other in (DEFAULT, LOGISTIC):
        d = boot[OURS] - boot[other]
        lo, hi = np.percentile(d, [2.5, 97.5])
        diffs[other] = {"diff": auc[OURS] - auc[other], "lo": float(lo), "hi": float(hi)}
    return {
        "rows": len(y),
        "holdout_rows": len(test),
        "churn_rate": float(y.mean()),
        "roc_auc": auc,
        "ours_minus": diffs,
        "fit_seconds": t_ours,
    }


def telco_cv(root: Path) -> dict:
    """Telco's cross-validated ROC-AUC (``churn bench``'s protocol): model and regression."""
    data, rules = load_snapshot("telco", root / get_adapter("telco").folder)
    res = cross_validate(data, rules, TrainingConfig())
    return {
        k: {"mean": res.churn[k]["roc_auc"], "sd": res.churn_std[k]["roc_auc"]}
        for k in ("lightgbm", "logistic_regression")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default="../shared/data")
    parser.add_argument("--only", nargs="*", default=list(SETS))
    parser.add_argument("--share", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--no-cv", action="store_true", help="skip Telco's cross-validation")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args()
    root = Path(args.data_root)
    out: dict = {}
    print(f"{'data set':10s} {'scorer':22s} ROC-AUC   ours - scorer [95% bootstrap interval]")
    for name in args.only:
        res = holdout(name, root, args.share, args.seed, args.resamples)
        out[name] = res
        for scorer, value in res["roc_auc"].items():
            d = res["ours_minus"].get(scorer)
            extra = f"{d['diff']:+.4f} [{d['lo']:+.4f}, {d['hi']:+.4f}]" if d else ""
            print(f"{name:10s} {scorer:22s} {value:.4f}    {extra}")
    if not args.no_cv:
        out["telco_cv"] = telco_cv(root)
        cv = out["telco_cv"]
        print(
            f"telco 5-fold CV ROC-AUC: ours {cv['lightgbm']['mean']:.4f} ± "
            f"{cv['lightgbm']['sd']:.4f}, logistic regression "
            f"{cv['logistic_regression']['mean']:.4f} ± {cv['logistic_regression']['sd']:.4f}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
