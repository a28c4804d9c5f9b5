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
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from features.adapters.hooks import Rules
from features.adapters.importer import get_adapter
from features.adapters.snapshot import SnapshotData
from training.bench import holdout as shared
from training.bench.user_path import adapters
from training.config import TrainingConfig
from training.snapshot.job import load_snapshot, no_rules
from training.snapshot.models import cross_validate

SETS = ("telco", "iranian", "ecommerce", "bankchurners")
_SPECS = _HERE.parent / "docs" / "examples" / "specs"


def load_set(name: str, root: Path) -> tuple[SnapshotData, Rules]:
    """A shipped adapter's snapshot, or one read through its mapping spec as a user would
    (``churn train-snapshot --spec FILE``), with its rule baselines (none without a hook)."""
    adapter = adapters(_SPECS)[name]
    data = adapter.load(root / adapter.folder)
    assert isinstance(data, SnapshotData)
    return data, adapter.rules or no_rules


def holdout(name: str, root: Path, share: float, seed: int, resamples: int) -> dict:
    """Scores of the registered model, LightGBM defaults and logistic regression on the holdout
    (:func:`training.bench.holdout.holdout`, which ``churn bench --protocol user`` runs too)."""
    data, rules = load_set(name, root)
    return shared.holdout(data, rules, TrainingConfig(), share, seed, resamples)


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
