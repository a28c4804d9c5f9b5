"""Uplift against risk ranking on generated data, measured against the hidden truth.

For each seed: generate a book with retention campaigns, load it through the contract, run the
training job (churn, value and uplift models in a scratch MLflow store), score every customer
active at the as-of date, and let ``churn campaign``'s selection pick K customers per manager by
``uplift``, ``value-at-risk`` and ``risk``. Each selection's true incremental saved value is the sum
of ``treatment_effect x final_monthly_value x 3`` over its customers (``_truth/customers.parquet``);
the Qini table is the training run's evaluation on its held-out campaigns.

    nice .venv/bin/python benchmarks/uplift.py --seeds 1 2 3 --customers 10000 --work /tmp/U/bench
"""

# ruff: noqa: E402 - the sys.path fix below must run before the project imports

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

# Run as ``python benchmarks/uplift.py``, this folder is first on sys.path and its
# ``features.py`` / ``training.py`` would shadow the project's packages.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import pandas as pd
from mlflow import MlflowClient

from features.config import FeatureConfig
from features.loaders import load_dataset
from features.pipeline.build import build_features
from features.synthetic.generator import generate, write_dataset
from kpi.campaign import STRATEGIES, campaign_candidates, select_by
from kpi.config import KpiConfig
from kpi.portfolio import MANAGER
from scoring.uplift import load_uplift, uplift_at
from training.job import train
from training.uplift.config import UpliftConfig
from training.uplift.job import EVALUATION_ARTIFACT


def one_seed(seed: int, customers: int, work: Path, capacity: int) -> tuple[dict, pd.DataFrame]:
    """Truth-based value of each strategy's selection and the run's Qini table for one seed."""
    folder = work / f"g{seed}"
    write_dataset(generate(customers, seed), folder)
    ds = load_dataset(folder)
    truth = pd.read_parquet(folder / "_truth" / "customers.parquet").set_index("customer_id")
    uri = f"sqlite:///{work / f'mlflow{seed}.db'}"
    t0 = time.perf_counter()
    result = train(ds, tracking_uri=uri, progress=False)
    seconds = time.perf_counter() - t0
    up_cfg = UpliftConfig()
    model, _ = load_uplift(up_cfg.model_name, result.versions[up_cfg.model_name], uri)
    local = MlflowClient(uri).download_artifacts(result.run_id, EVALUATION_ARTIFACT, str(work))
    qini = pd.read_csv(local, index_col=0)
    asof = ds.as_of
    rows = build_features(ds, asof, FeatureConfig(), labels=False)
    preds = pd.DataFrame(
        {
            "customer_id": rows["customer_id"].astype("str").to_numpy(),
            "churn_probability": result.trained.churn.predict(rows),
            "predicted_value": result.trained.value.predict(rows),
        }
    )
    kpi = KpiConfig()
    candidates = campaign_candidates(ds, preds, asof, kpi.outcome)
    effect = uplift_at(ds, asof, model).set_index("customer_id")["uplift"]
    candidates["uplift"] = candidates["customer_id"].map(effect).to_numpy()
    true_gain = (truth["treatment_effect"].fillna(0.0) * truth["final_monthly_value"] * 3).rename(
        "gain"
    )
    out: dict = {"seed": seed, "train_s": round(seconds, 1), "active": len(candidates)}
    for by in STRATEGIES:
        chosen = select_by(
            candidates, capacity, by, kpi.campaign.cost_per_contact, kpi.campaign.success_rate
        )
        out[f"n_{by}"] = len(chosen)
        out[f"true_{by}"] = float(chosen["customer_id"].map(true_gain).fillna(0.0).sum())
    best = true_gain.reindex(candidates["customer_id"]).fillna(0.0)
    top = best.groupby(candidates[MANAGER].to_numpy()).apply(lambda g: g.nlargest(capacity).sum())
    out["true_oracle"] = float(top.sum())
    out["uplift_vs_risk"] = out["true_uplift"] / out["true_risk"]
    return out, qini.assign(seed=seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--capacity", type=int, default=KpiConfig().campaign.capacity_per_manager)
    parser.add_argument("--work", type=Path, default=Path("/tmp/uplift-bench"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    results, tables = [], []
    for seed in args.seeds:
        res, qini = one_seed(seed, args.customers, args.work, args.capacity)
        results.append(res)
        tables.append(qini)
        print(f"seed {seed} done", file=sys.stderr)
    pd.set_option("display.width", 200)
    summary = pd.DataFrame(results).set_index("seed")
    print(
        f"\nTrue incremental saved value (sum of treatment_effect x final_monthly_value x 3), "
        f"{args.capacity} per manager, {args.customers:,} customers:\n"
    )
    cols = [f"true_{b}" for b in STRATEGIES] + ["true_oracle", "uplift_vs_risk"]
    print(summary[["active", *[f"n_{b}" for b in STRATEGIES], *cols]].round(2).to_string())
    print(
        f"\nmean uplift / risk: {summary['uplift_vs_risk'].mean():.2f}x (goal >= 1.2x on each seed)"
    )
    print("\nHeld-out campaigns (success = staying), per seed:\n")
    print(pd.concat(tables).reset_index().set_index(["seed", "ranking"]).round(4).to_string())


if __name__ == "__main__":
    main()
