"""Monitoring measured on generated data: false alarms without drift, injected drift detected,
and CBPE's estimated ROC-AUC against the realized one for each scoring date.

1. A champion is trained on an undrifted book cut at the day before ``--drift-from`` (so it never
   saw the drift), into a scratch MLflow registry.
2. False alarms: on ``--seeds`` undrifted books, every feature and the prediction distribution
   are measured between the champion's training cutoffs and each month start of the following
   year (all seasons); the script prints the distribution of each statistic and how many
   features the default thresholds flag per (book, date).
3. Per drift kind (none, price, behaviour in one segment, concept) on the first book's seed: the
   book is batch-scored into its own store at four quarter starts, then ``run_monitor`` runs at
   the data's as-of date: features flagged against those the drift was meant to move
   (``_truth/drift.json``), prediction drift, alerts, and estimated vs realized ROC-AUC of every
   stored scoring.

    CHURN_HOME=/tmp/D/home nice .venv/bin/python benchmarks/monitoring.py --work /tmp/D/bench
"""

# ruff: noqa: E402 - the sys.path fix below must run before the project imports

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

# Run as ``python benchmarks/monitoring.py``, this folder is first on sys.path and its
# ``features.py`` / ``training.py`` would shadow the project's packages.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import numpy as np
import pandas as pd

from core.registry import load_registered_bundle
from features.config import FeatureConfig
from features.pipeline.build import features_at, plan_features
from features.synthetic.drift import EXPECTED_FEATURES, DriftConfig
from features.synthetic.generator import GeneratorConfig, generate
from monitoring.config import MonitorConfig
from monitoring.drift import JS, PSI, feature_drift, js_distance
from monitoring.run import run_monitor, training_cutoffs
from scoring.batch.job import run_batch
from scoring.config import ServingConfig
from training.config import TrainingConfig
from training.job import train

SCORING_DATES = ("2023-07-01", "2023-10-01", "2024-01-01", "2024-04-01")
KINDS = (("none", None), ("price", None), ("behaviour", "consumer"), ("concept", None))


def train_champion(n: int, seed: int, drift_from: pd.Timestamp, uri: str) -> None:
    """Train and register the champion on the undrifted book, seeing nothing from drift_from on."""
    ds = generate(n, seed).dataset
    cut = replace(ds, as_of=drift_from - pd.Timedelta(days=1))
    result = train(cut, TrainingConfig(), tracking_uri=uri, progress=False)
    outcomes = {d.outcome for d in result.decisions.values()}
    assert outcomes == {"champion"}, outcomes


def false_alarms(n: int, seeds: list[int], uri: str, cfg: MonitorConfig) -> pd.DataFrame:
    """Every statistic between the training cutoffs and each month start of the next year."""
    bundle, _ = load_registered_bundle("churn-model", "champion", uri)
    fcfg = FeatureConfig.model_validate(bundle.metadata["feature_config"])
    refs = training_cutoffs(bundle)
    dates = pd.date_range(refs[-1] + pd.DateOffset(months=7), periods=12, freq="MS")
    rows = []
    for seed in seeds:
        ds = generate(n, seed).dataset
        plan = plan_features(ds, fcfg)
        ref = pd.concat([features_at(plan, c, labels=False) for c in refs], ignore_index=True)
        p_ref = bundle.predict(ref)
        for when in dates:
            cur = features_at(plan, when, labels=False)
            drifts = feature_drift(
                ref,
                cur,
                bundle.feature_names,
                bundle.categorical_features,
                cfg.bins,
                cfg.numeric_threshold,
                cfg.categorical_threshold,
            )
            for d in drifts:
                rows.append((seed, when, d.name, d.statistic, d.value, d.drifted))
            value = js_distance(p_ref, bundle.predict(cur), cfg.bins)
            rows.append(
                (
                    seed,
                    when,
                    "churn_probability",
                    "prediction",
                    value,
                    value > cfg.prediction_threshold,
                )
            )
    return pd.DataFrame(rows, columns=["seed", "asof", "name", "statistic", "value", "drifted"])


def expected(name: str, kind: str) -> bool:
    return any(name.startswith(p) for p in EXPECTED_FEATURES.get(kind, ()))


def drift_run(n: int, seed: int, kind: str, segment: str | None, drift_from: date, uri: str,
              work: Path, cfg: MonitorConfig) -> dict:  # fmt: skip
    """Score the (drifted) book at the scoring dates, then monitor it at its as-of date."""
    drift = None if kind == "none" else DriftConfig(kind=kind, start=drift_from, segment=segment)
    ds = generate(n, seed, GeneratorConfig(drift=drift)).dataset
    serving = ServingConfig(tracking_uri=uri, store_url=f"sqlite:///{work / kind}.db")
    for day in SCORING_DATES:
        when = pd.Timestamp(day)
        run_batch(replace(ds, as_of=when), when, serving, kind, work / f"{kind}_{day}.csv",
                  work / f"{kind}_{day}_wb.csv")  # fmt: skip
    return run_monitor(ds, ds.as_of, serving, cfg)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=101)
    parser.add_argument("--seeds", type=int, default=3, help="Undrifted books for false alarms.")
    parser.add_argument("--drift-from", default="2023-07-01")
    parser.add_argument("--work", type=Path, default=Path("/tmp/monitoring-bench"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{args.work / 'mlflow.db'}"
    start = pd.Timestamp(args.drift_from)
    cfg = MonitorConfig()
    t0 = time.perf_counter()
    train_champion(args.customers, args.seed, start, uri)
    print(f"champion trained on {args.customers:,} customers before {start:%Y-%m-%d} "
          f"({time.perf_counter() - t0:.0f} s)")  # fmt: skip

    t0 = time.perf_counter()
    seeds = [args.seed + k for k in range(args.seeds)]
    stats = false_alarms(args.customers, seeds, uri, cfg)
    print(f"\n## Undrifted books: statistic per feature, {len(seeds)} seeds x 12 month starts "
          f"({time.perf_counter() - t0:.0f} s)")  # fmt: skip
    q = stats.groupby("statistic")["value"].describe(percentiles=[0.5, 0.9, 0.99])
    print(q[["count", "50%", "90%", "99%", "max"]].round(4).to_string())
    per_date = stats[stats.statistic != "prediction"].groupby(["seed", "asof"])["drifted"].sum()
    n_feat = stats[stats.statistic != "prediction"].groupby(["seed", "asof"]).size().iloc[0]
    print(
        f"features flagged per (book, date) with thresholds JS {cfg.numeric_threshold}, PSI "
        f"{cfg.categorical_threshold}: mean {per_date.mean():.2f} of {n_feat}, max "
        f"{per_date.max()}, dates with any flag {(per_date > 0).sum()} of {len(per_date)}"
    )
    pred = stats[stats.statistic == "prediction"]
    print(f"prediction drift flagged on {int(pred.drifted.sum())} of {len(pred)} (book, date)")
    top = stats[stats.statistic.isin([JS, PSI])].nlargest(8, "value")
    print("largest undrifted values:\n" + top[["seed", "asof", "name", "value"]].to_string())

    print(
        f"\n## Injected drift from {start:%Y-%m-%d}, monitored at the as-of date (seed {args.seed})"
    )
    for kind, segment in KINDS:
        t0 = time.perf_counter()
        res = drift_run(args.customers, args.seed, kind, segment, start.date(), uri, args.work, cfg)
        flagged = [f["name"] for f in res["features"] if f["drifted"]]
        exp = [f["name"] for f in res["features"] if expected(f["name"], kind)]
        hit = [f for f in flagged if expected(f, kind)]
        print(f"\n### {kind}{f' (segment {segment})' if segment else ''} "
              f"({time.perf_counter() - t0:.0f} s)")  # fmt: skip
        print(
            f"features flagged {len(flagged)} of {len(res['features'])}; meant to move "
            f"{len(exp)}, of which flagged {len(hit)}; flagged but not meant to move "
            f"{len(flagged) - len(hit)}: {', '.join(f for f in flagged if f not in hit) or '-'}"
        )
        moved = pd.DataFrame([f for f in res["features"] if f["name"] in exp])
        if len(moved):
            print(
                f"statistic of the features meant to move: median {moved['value'].median():.3f}, "
                f"max {moved['value'].max():.3f} ({moved.loc[moved['value'].idxmax(), 'name']})"
            )
        pd_ = res["prediction_drift"]
        print(
            f"prediction drift {pd_['value']:.3f} ({'flagged' if pd_['drifted'] else 'not flagged'})"
        )
        est = res["estimated"]
        print(f"estimated at {res['asof']}: ROC-AUC {est['roc_auc']:.3f}, precision@{est['capacity']} "
              f"{est['precision_at_capacity']:.3f} (n {est['n']})")  # fmt: skip
        table = pd.DataFrame(res["realized"])[
            ["asof", "n", "estimated_roc_auc", "roc_auc", "estimated_precision_at_capacity",
             "precision_at_capacity", "mean_probability", "churn_rate", "ece", "expected_ece"]
        ]  # fmt: skip
        table["auc_error"] = table["estimated_roc_auc"] - table["roc_auc"]
        print(table.round(3).to_string(index=False))
        print(f"max |estimated - realized ROC-AUC|: {np.abs(table['auc_error']).max():.3f}")
        print(f"alerts ({len(res['alerts'])}):")
        for line in res["alerts"]:
            print(f"  - {line}")


if __name__ == "__main__":
    main()
