"""Lost value found by the at-risk order on a real purchase log, and the value model's calibration.

A folder with only ``customers`` and ``transactions`` goes through what ``churn train`` runs
(without MLflow). On the test cutoff's labelled customers, "lost value" is each churner's revenue
in the horizon before the cutoff (zero for a customer who stayed). The script prints the share of
the total lost value caught by the first 10% of customers in each order:

- P x V: the churn model's probability times the value model's prediction (the product's order);
- P alone; recency x monetary (days since the last purchase x revenue of the longest window);
  the RFM score (lowest first, the churn rule's order);
- P x carry-forward and P x BG/NBD + Gamma-Gamma (the value model swapped for each reference),

with a 95% bootstrap interval of P x V's capture minus recency x monetary's (test customers
resampled). Then, among the customers who stayed, the ratio of summed predicted to summed actual
value for one-purchase customers and for each decile of predicted value, and the value errors of
the model, carry-forward and BG/NBD + Gamma-Gamma.

    .venv/bin/churn import cdnow ../shared/data/cdnow_half --out /tmp/cdnow
    rm -r /tmp/cdnow/dataset.yaml /tmp/cdnow/rejects
    .venv/bin/python benchmarks/lost_value.py /tmp/cdnow --as-of 1998-03-31
"""

# ruff: noqa: E402 - the sys.path fix below must run before the project imports

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import numpy as np
import pandas as pd

from features.config import FeatureConfig
from features.loaders import load_dataset
from features.pipeline.build import build_training_set
from training.bench.paired import capture
from training.bench.transaction_log import btyd_scores
from training.config import TrainingConfig
from training.evaluation.baselines import trailing_revenue
from training.fit import fit_models
from training.job import plan_for
from training.spec import CHURN_LABEL, VALUE_LABEL, labelled


def ratios(pred: np.ndarray, actual: np.ndarray, one_purchase: np.ndarray) -> dict[str, float]:
    """Summed predicted / summed actual value: one-purchase customers and each predicted decile."""
    out = {"one-purchase": float(pred[one_purchase].sum() / max(actual[one_purchase].sum(), 1e-12))}
    deciles = pd.qcut(pd.Series(pred).rank(method="first"), 10, labels=False).to_numpy()
    for d in range(10):
        m = deciles == d
        out[f"decile {d + 1}"] = float(pred[m].sum() / max(actual[m].sum(), 1e-12))
    return out


def run(folder: str, as_of: str | None, resamples: int, seed: int) -> dict:
    features, cfg = FeatureConfig(), TrainingConfig()
    ds = load_dataset(folder, as_of=as_of)
    plan = plan_for(ds, features, cfg)
    h = plan.horizon_days
    frame = build_training_set(ds, plan.all, features)
    trained = fit_models(frame, plan, features, cfg)
    test = labelled(trained.split.test, CHURN_LABEL).reset_index(drop=True)
    y = test[CHURN_LABEL].to_numpy(np.float64)
    p = trained.evaluated["churn"].predict(test)
    v = trained.evaluated["value"].predict(test)
    carry = trailing_revenue(test, h)
    btyd, _, _ = btyd_scores(ds, test["customer_id"], plan.test, h)
    v_btyd = btyd["expected_value"].to_numpy(np.float64)
    lost = np.where(y == 1, carry, 0.0)
    long_w = max(features.windows_days)
    recency = np.nan_to_num(test["recency_days"].to_numpy(np.float64, na_value=np.nan), nan=1e6)
    monetary = np.nan_to_num(test[f"revenue_{long_w}d"].to_numpy(np.float64, na_value=np.nan))
    rfm = test["rfm_score"].to_numpy(np.float64, na_value=np.nan)
    orders = {
        "P x V (product)": p * v,
        "P alone": p,
        "recency x monetary": recency * monetary,
        "RFM score (lowest first)": -np.nan_to_num(rfm, nan=0.0),
        "P x carry-forward": p * carry,
        "P x BG/NBD+Gamma-Gamma": p * v_btyd,
    }
    caught = {k: float(capture(s, lost)[0]) for k, s in orders.items()}
    rng = np.random.default_rng(seed)
    n = len(y)
    weights = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(resamples)])
    diff = capture(orders["P x V (product)"], lost, weights) - capture(
        orders["recency x monetary"], lost, weights
    )
    lo, hi = np.percentile(diff, [2.5, 97.5])
    stay = y == 0
    actual = test[VALUE_LABEL].to_numpy(np.float64)[stay]
    one = (test["txn_count_total"].to_numpy(np.float64, na_value=0.0) == 1)[stay]
    values = {"value model": v[stay], "carry-forward": carry[stay], "BG/NBD+GG": v_btyd[stay]}
    errors = {
        k: {
            "mae": float(np.mean(np.abs(x - actual))),
            "rmse": float(np.sqrt(np.mean((x - actual) ** 2))),
            "sum ratio": float(x.sum() / actual.sum()),
        }
        for k, x in values.items()
    }
    return {
        "data": folder,
        "as_of": f"{ds.as_of:%Y-%m-%d}",
        "test_cutoff": f"{plan.test:%Y-%m-%d}",
        "horizon_days": h,
        "customers": n,
        "churners": int(y.sum()),
        "lost_value": float(lost.sum()),
        "captured_top10": caught,
        "pxv_minus_rxm": {"diff": float(diff.mean()), "lo": float(lo), "hi": float(hi)},
        "stayers": int(stay.sum()),
        "one_purchase_stayers": int(one.sum()),
        "ratio_pred_to_actual": {k: ratios(x, actual, one) for k, x in values.items()},
        "value_errors": errors,
        "max_one_purchase_value": float(v[stay][one].max()) if one.any() else 0.0,
        "value_model": trained.evaluated["value"].metadata.get("value_model", "lightgbm"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--as-of", default=None)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args()
    res = run(args.folder, args.as_of, args.resamples, args.seed)
    print(
        f"{res['data']} as-of {res['as_of']}: test cutoff {res['test_cutoff']}, horizon "
        f"{res['horizon_days']} days, {res['customers']:,} customers, {res['churners']:,} "
        f"churners, lost value {res['lost_value']:,.0f}; value model: {res['value_model']}"
    )
    print("share of lost value in the first 10%:")
    for k, c in res["captured_top10"].items():
        print(f"  {k:28s} {c:.3f}")
    d = res["pxv_minus_rxm"]
    print(f"  P x V - recency x monetary: {d['diff']:+.3f} [{d['lo']:+.3f}, {d['hi']:+.3f}]")
    print(
        f"stayers {res['stayers']:,} ({res['one_purchase_stayers']:,} one-purchase): "
        "summed predicted / actual"
    )
    for k, r in res["ratio_pred_to_actual"].items():
        print(f"  {k:14s} " + " ".join(f"{name}={x:.2f}" for name, x in r.items()))
    for k, e in res["value_errors"].items():
        print(f"  {k:14s} " + " ".join(f"{m}={x:.2f}" for m, x in e.items()))
    print(f"  largest one-purchase stayer's predicted value: {res['max_one_purchase_value']:,.0f}")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
