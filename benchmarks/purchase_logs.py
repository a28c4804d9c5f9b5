"""The churn model of plain ``churn train`` on a purchase log against the rules, with paired
bootstrap intervals of the ROC-AUC differences.

A folder with only ``customers`` and ``transactions`` (no ``dataset.yaml``) goes through what
``churn train`` runs, without MLflow: the time split, features at every cutoff, the models and
the baselines. On the test cutoff the script prints each scorer's ROC-AUC and the model's
difference to each, with a 95% interval from resampling the test customers (one row each: the
same resample for every scorer). BG/NBD alone (fitted on the purchases before the test cutoff)
is shown as the published purchase-log model. Feature-building time is printed too.

    .venv/bin/churn import cdnow ../shared/data/cdnow_half --out /tmp/cdnow
    rm -r /tmp/cdnow/dataset.yaml /tmp/cdnow/rejects
    .venv/bin/python benchmarks/purchase_logs.py /tmp/cdnow --as-of 1998-03-31
    .venv/bin/python benchmarks/purchase_logs.py /tmp/cdnow --as-of 1998-06-30
"""

# ruff: noqa: E402 - the sys.path fix below must run before the project imports

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import numpy as np

from features.config import FeatureConfig
from features.loaders import load_dataset
from features.pipeline.build import build_training_set
from training.bench.paired import auc_differences
from training.bench.transaction_log import BGNBD_SILENT, btyd_scores
from training.config import TrainingConfig
from training.evaluation.baselines import churn_baselines
from training.fit import fit_models
from training.job import plan_for
from training.live import with_lifecycle
from training.spec import CHURN_LABEL, labelled

MODEL = "lightgbm (ours)"


def compare(
    y: np.ndarray, scores: dict[str, np.ndarray], resamples: int, seed: int
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Each scorer's ROC-AUC, and the model's difference to each with its 95% interval."""
    return auc_differences(y, scores, MODEL, resamples, seed)


def run(folder: str, as_of: str | None, resamples: int, seed: int, bgnbd: bool | None) -> dict:
    """Train as ``churn train`` does and compare the test cutoff's scorers (``bgnbd``: the BG/NBD
    features on or off, None: the configuration's default)."""
    features, cfg = FeatureConfig(), TrainingConfig()
    if bgnbd is not None:
        on_off = features.bgnbd.model_copy(update={"enabled": bgnbd})
        features = features.model_copy(update={"bgnbd": on_off})
    ds = load_dataset(folder, as_of=as_of)
    t0 = time.perf_counter()
    plan = plan_for(ds, features, cfg)
    frame = build_training_set(ds, plan.all, features)
    frame = with_lifecycle(frame, ds, plan.test, features, cfg.live)
    t_features = time.perf_counter() - t0
    trained = fit_models(frame, plan, features, cfg)
    ev, split, spec = trained.evaluation, trained.split, trained.spec
    test = labelled(split.test, CHURN_LABEL)
    y = test[CHURN_LABEL].to_numpy(np.float64)
    scores = {MODEL: ev.churn_test["p_churn"].to_numpy(np.float64)}
    for b in churn_baselines(split, spec, cfg.seed, cfg.baseline_max_rows):
        scores[b.name] = b.rank_score
    btyd, _, _ = btyd_scores(ds, test["customer_id"], plan.test, plan.horizon_days)
    scores["bgnbd_p_no_purchase"] = btyd[BGNBD_SILENT].to_numpy()
    live = ev.churn_test["live"].to_numpy(bool)
    auc, diffs = compare(y, scores, resamples, seed)
    live_auc, live_diffs = compare(
        y[live], {k: s[live] for k, s in scores.items()}, resamples, seed
    )
    return {
        "data": folder,
        "as_of": f"{ds.as_of:%Y-%m-%d}",
        "plan": plan.describe(),
        "test_rows": len(y),
        "churn_rate": float(y.mean()),
        "features": len(spec.names),
        "feature_seconds": t_features,
        "roc_auc": auc,
        "model_minus": diffs,
        "live_rows": int(live.sum()),
        "live_roc_auc": live_auc,
        "live_model_minus": live_diffs,
    }


def feature_cost(folder: str, as_of: str | None, repeats: int) -> dict[str, float]:
    """Best-of-``repeats`` seconds to build the training set of ``churn train`` with and without
    the BG/NBD features (``features.bgnbd.enabled``), measured alternately in this run."""
    ds = load_dataset(folder, as_of=as_of)
    off = FeatureConfig()
    on = off.model_copy(update={"bgnbd": off.bgnbd.model_copy(update={"enabled": True})})
    plan = plan_for(ds, on, TrainingConfig())
    best = {"bgnbd on": np.inf, "bgnbd off": np.inf}
    for _ in range(repeats):
        for name, cfg in (("bgnbd off", off), ("bgnbd on", on)):
            t0 = time.perf_counter()
            build_training_set(ds, plan.all, cfg)
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--as-of", default=None)
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    parser.add_argument(
        "--bgnbd", choices=("on", "off"), default=None, help="BG/NBD features (default: config)"
    )
    parser.add_argument(
        "--feature-cost", type=int, default=0, metavar="N", help="only time the features, N times"
    )
    args = parser.parse_args()
    if args.feature_cost:
        cost = feature_cost(args.folder, args.as_of, args.feature_cost)
        print(", ".join(f"{k}: {v:.2f} s" for k, v in cost.items()))
        return
    bgnbd = None if args.bgnbd is None else args.bgnbd == "on"
    res = run(args.folder, args.as_of, args.resamples, args.seed, bgnbd)
    print(
        f"{res['data']} as-of {res['as_of']}: test cutoff {res['plan']['test_cutoff']}, "
        f"{res['test_rows']:,} customers, churn {res['churn_rate']:.1%}, "
        f"{res['features']} features built in {res['feature_seconds']:.1f} s"
    )
    for label, key, minus in (
        ("every test customer", "roc_auc", "model_minus"),
        (f"live ({res['live_rows']:,}, not lapsed)", "live_roc_auc", "live_model_minus"),
    ):
        print(f"{label:32s} ROC-AUC   ours - scorer [95% bootstrap interval]")
        for name, value in res[key].items():
            d = res[minus].get(name)
            extra = f"{d['diff']:+.4f} [{d['lo']:+.4f}, {d['hi']:+.4f}]" if d else ""
            print(f"  {name:30s} {value:.4f}    {extra}")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
