"""Model quality on the customers who can still be saved, on a fresh generated data set.

Trains through the product's own path (``training.job.train``, what ``churn train`` runs) on one
generated data set, into a temporary MLflow store, then scores a second, fresh data set at a
cutoff 200 days before its last transaction with the registered champion (``churn features`` then
``models:/churn-model@champion``). It prints, for the model and the baselines fitted on the same
training data (recency rule, weighted RFM score, logistic regression):

- ROC-AUC on everyone scored, on the customers alive at the cutoff by the hidden truth, and on
  the customers the product does not consider lapsed (its lifecycle status);
- PR-AUC, ECE (10 equal-width bins over all labelled rows) and top-decile lift on everyone, and
  ROC-AUC, PR-AUC on the not-lapsed rows;
- the value model's top-decile bias (predicted vs actual sum over the top 10% by actual value of
  the stayers), the share of churn probabilities at exactly 0 or 1, and an oracle that knows from
  the hidden truth who had decided to leave before the cutoff (plus their mean hazard).

    nice .venv/bin/python benchmarks/model_quality.py            # data cached under /tmp/M/
    nice .venv/bin/python benchmarks/model_quality.py --train DIR --fresh DIR
"""

# ruff: noqa: E402 - the sys.path fix below must run before the project imports

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

# Run as ``python benchmarks/model_quality.py``, this folder is first on sys.path and its
# ``features.py`` / ``training.py`` would shadow the project's packages.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from core.registry import load_registered_bundle
from features.config import FeatureConfig
from features.dataset import Dataset
from features.loaders import load_dataset
from features.pipeline.build import build_features
from features.pipeline.lifecycle import LifecycleConfig, lifecycle_at
from features.synthetic.generator import generate, write_dataset
from training.config import TrainingConfig
from training.evaluation.baselines import churn_baselines
from training.evaluation.metrics import top_sum
from training.job import train
from training.spec import CHURN_LABEL, VALUE_LABEL, labelled
from training.value_model import value_rows

CUTOFF_BEFORE_LAST_DAYS = 200


def data_folder(path: Path | None, customers: int, seed: int, cache: Path) -> Path:
    """A generated data folder: the given one, else the cached one (generated on first use)."""
    if path is not None:
        return path
    folder = cache / f"gen_{customers}_{seed}"
    if not (folder / "dataset.yaml").exists():
        write_dataset(generate(customers, seed), folder)
    return folder


def ece_equal_width(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Mean |mean predicted - observed rate| over equal-width bins of p, weighted by bin size."""
    b = np.minimum((p * bins).astype(int), bins - 1)
    n = np.bincount(b, minlength=bins)
    gap = np.abs(np.bincount(b, p, bins) - np.bincount(b, y, bins))
    return float(gap.sum() / max(n.sum(), 1))


def scores(
    rank: np.ndarray, p: np.ndarray, y: np.ndarray, alive: np.ndarray, live: np.ndarray
) -> dict[str, float]:
    """The table's figures for one scorer (``rank`` orders the list, ``p`` are probabilities)."""
    n = len(y)
    return {
        "roc_auc": roc_auc_score(y, rank),
        "roc_auc_alive": roc_auc_score(y[alive], rank[alive]),
        "roc_auc_live": roc_auc_score(y[live], rank[live]),
        "pr_auc": average_precision_score(y, rank),
        "pr_auc_live": average_precision_score(y[live], rank[live]),
        "ece": ece_equal_width(p, y),
        "lift": top_sum(rank, y, 0.1 * n) / (0.1 * n) / y.mean(),
    }


def fresh_frame(ds: Dataset, features: FeatureConfig) -> pd.DataFrame:
    """``churn features`` on the fresh set at 200 days before its last transaction."""
    last = ds.tables["transactions"]["ts"].max().normalize()
    cutoff = last - pd.Timedelta(days=CUTOFF_BEFORE_LAST_DAYS)
    return labelled(build_features(ds, cutoff, features), CHURN_LABEL).reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", type=Path, help="training data folder (default: generated)")
    parser.add_argument("--fresh", type=Path, help="fresh data folder (default: generated)")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--train-seed", type=int, default=31)
    parser.add_argument("--fresh-seed", type=int, default=97)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/M"))
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    train_dir = data_folder(args.train, args.customers, args.train_seed, args.cache)
    fresh_dir = data_folder(args.fresh, args.customers, args.fresh_seed, args.cache)
    features, cfg = FeatureConfig(), TrainingConfig()

    with tempfile.TemporaryDirectory(dir=args.cache) as home:
        os.environ["CHURN_HOME"] = home
        uri = f"sqlite:///{home}/mlflow.db"
        t0 = time.perf_counter()
        result = train(load_dataset(train_dir), cfg, features, tracking_uri=uri, progress=False)
        t1 = time.perf_counter()
        ds = load_dataset(fresh_dir)
        frame = fresh_frame(ds, features)
        t2 = time.perf_counter()
        churn, _ = load_registered_bundle(cfg.churn_model_name, "champion", uri)
        value, _ = load_registered_bundle(cfg.value_model_name, "champion", uri)
        p = churn.predict(frame)
    cutoff = pd.Timestamp(frame["cutoff"].iloc[0])
    y = frame[CHURN_LABEL].to_numpy(float)
    truth = pd.read_parquet(fresh_dir / "_truth" / "customers.parquet").set_index("customer_id")
    truth = truth.reindex(frame["customer_id"].astype(str))
    churn_date = truth["churn_date"].to_numpy()
    alive = ~(churn_date < cutoff.to_datetime64())  # NaT (never churned) compares False
    status = lifecycle_at(ds, cutoff, features, LifecycleConfig())["lifecycle_status"]
    live = (status.reindex(frame["customer_id"].astype(str)) != "lapsed").to_numpy()

    table = {"lightgbm": scores(p, p, y, alive, live)}
    split = replace(result.trained.split, test=frame)
    for b in churn_baselines(split, result.trained.spec, cfg.seed, cfg.baseline_max_rows):
        table[b.name] = scores(b.rank_score, b.probability, y, alive, live)
    decided = (truth["decision_date"].to_numpy() < cutoff.to_datetime64()) & alive
    oracle = decided * 10.0 + truth["mean_monthly_hazard"].to_numpy(float)
    oracle_auc = roc_auc_score(y[alive], oracle[alive])

    stay = value_rows(frame, cfg)
    actual, predicted = stay[VALUE_LABEL].to_numpy(float), value.predict(stay)
    top = np.argsort(-actual, kind="stable")[: max(len(actual) // 10, 1)]

    print(
        f"train {train_dir} ({args.train_seed}), fresh {fresh_dir} ({args.fresh_seed}); "
        f"cutoff {cutoff:%Y-%m-%d}: {len(frame):,} labelled rows, churn rate {y.mean():.3f}; "
        f"alive by truth {alive.sum():,} ({alive.mean():.1%}), not lapsed {live.sum():,} "
        f"({live.mean():.1%}); of the alive, decided to leave {decided[alive].mean():.1%}"
    )
    print(
        f"time: train {t1 - t0:.0f} s, fresh features {t2 - t1:.1f} s; "
        f"churn best iteration {result.trained.churn_fit.best_iteration}"
    )
    out = pd.DataFrame(table).T
    print(out.round(3).to_string())
    print(
        f"oracle ROC-AUC on the alive: {oracle_auc:.3f} (model {table['lightgbm']['roc_auc_alive']:.3f}, "
        f"distance {oracle_auc - table['lightgbm']['roc_auc_alive']:.3f})"
    )
    print(
        f"churn probabilities: min {p.min():.4f}, max {p.max():.4f}, exactly 0 or 1: "
        f"{int(((p == 0) | (p == 1)).sum()):,} of {len(p):,}"
    )
    print(
        f"value model, top decile of the stayers by actual value ({len(top):,} rows): "
        f"predicted {predicted[top].sum():,.0f} vs actual {actual[top].sum():,.0f} "
        f"(ratio {predicted[top].sum() / actual[top].sum():.3f}); all stayers: predicted "
        f"{predicted.sum():,.0f} vs actual {actual.sum():,.0f}"
    )


if __name__ == "__main__":
    main()
