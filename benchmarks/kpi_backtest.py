"""Backtest of the retention KPIs on generated data : does risk-adjusted retention
rank account managers by their hidden skill better than raw retention does?

    .venv/bin/python benchmarks/kpi_backtest.py                        # 20,000 customers, seed 7
    .venv/bin/python benchmarks/kpi_backtest.py --customers 5000 --seed 3 --months 6 --json r.json

Steps, all in a temporary CHURN_HOME: generate the data set (its hidden truth holds each manager's
``skill``); train both models with ``training.job.train`` on the data as it stood the day before
the first backtest month (so no outcome of a backtest month is in training); batch-score every
backtest month start into the prediction store, as ``churn score --asof`` does; read those
predictions back from the store (``serving.kpi_inputs``) and compute each month's scorecards,
once with the default outcome window (the month itself, P rescaled to it) and once with
``outcome.horizon_days: 90`` (the model's own horizon). The backtest months are the last ones
whose 90-day outcome the data holds, so both windows judge the same months.

Per manager, each metric is averaged over the months; the report gives its Spearman rank
correlation with the hidden skill (higher is fairer) and with the hidden riskiness of the book
(``portfolio_risk``: near 0 is fairer: luck of the draw should not pay), with bootstrap intervals
over managers, and the paired difference risk-adjusted minus raw retention.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import rankdata

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

METRICS = {
    "retention_rate": "raw retention rate",
    "value_weighted_retention": "value-weighted retention",
    "risk_adjusted_retention": "risk-adjusted retention",
    "score": "100-point score",
    "expected_retention": "expected retention (the predictions alone)",
    "risk_adjusted_count": "risk-adjusted retention, head count (V = 1)",
}
DIFFERENCES = {
    "risk_adjusted_retention": "risk-adjusted minus raw",
    "risk_adjusted_count": "head-count risk-adjusted minus raw",
}
WINDOWS = {"month": None, "90 days": 90}  # outcome.horizon_days
_DAY = pd.Timedelta(days=1)


def backtest_months(as_of: pd.Timestamp, n: int, horizon_days: int = 90) -> list[pd.Timestamp]:
    """The last ``n`` month starts whose ``horizon_days`` outcome window ends within the data."""
    last = (as_of + _DAY - pd.Timedelta(days=horizon_days)).replace(day=1)
    while last + pd.Timedelta(days=horizon_days) > as_of + _DAY:
        last -= pd.offsets.MonthBegin(1)
    return [last - pd.offsets.MonthBegin(i) for i in range(n - 1, -1, -1)]


def spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman correlation of each row of ``x`` with the same row of ``y`` (ties averaged)."""
    rx, ry = rankdata(x, axis=-1), rankdata(y, axis=-1)
    rx = rx - rx.mean(axis=-1, keepdims=True)
    ry = ry - ry.mean(axis=-1, keepdims=True)
    den = np.sqrt((rx**2).sum(axis=-1) * (ry**2).sum(axis=-1))
    return (rx * ry).sum(axis=-1) / np.where(den > 0, den, np.nan)


def correlations(
    per_manager: pd.DataFrame, truth: pd.Series, boot: int, seed: int
) -> dict[str, dict[str, float]]:
    """Spearman of each metric with ``truth`` and a 90% bootstrap interval over managers; also
    the paired difference risk-adjusted minus raw retention."""
    frame = per_manager.join(truth.rename("_truth"), how="inner").dropna()
    idx = np.random.default_rng(seed).integers(0, len(frame), (boot, len(frame)))
    y = frame["_truth"].to_numpy()
    out: dict[str, dict[str, float]] = {}
    draws = {}
    for col in METRICS:
        x = frame[col].to_numpy()
        draws[col] = spearman_rows(x[idx], y[idx])
        lo, hi = np.nanpercentile(draws[col], [5, 95])
        out[col] = {"rho": float(spearman_rows(x, y)), "lo": float(lo), "hi": float(hi)}
    for col, name in DIFFERENCES.items():
        diff = draws[col] - draws["retention_rate"]
        lo, hi = np.nanpercentile(diff, [5, 95])
        out[name] = {"rho": out[col]["rho"] - out["retention_rate"]["rho"], "lo": lo, "hi": hi}
    return out


def prepare(data_dir: Path, customers: int, seed: int) -> pd.DataFrame:
    """Generate and write the data set; the managers' hidden truth."""
    from features.synthetic.generator import generate, write_dataset

    generated = generate(customers, seed)
    write_dataset(generated, data_dir, "parquet")
    return generated.truth["managers"].set_index("account_manager_id")


def train_models(data_dir: Path, train_asof: pd.Timestamp, seed: int, uri: str) -> dict:
    """Train and register both models on the data as of ``train_asof`` (whole training job)."""
    from features.loaders import load_dataset
    from training.config import TrainingConfig
    from training.job import train

    ds = load_dataset(data_dir, as_of=train_asof)
    result = train(ds, TrainingConfig(seed=seed), tracking_uri=uri, progress=False)
    ev = result.evaluation
    model = next(iter(ev.churn))  # the model first, then the baselines
    return {"versions": dict(result.versions), "churn_test": ev.churn[model]}


def score_month_starts(data_dir: Path, months: list[pd.Timestamp], uri: str, store_url: str):
    """Batch-score every month start into the store, as ``churn score --asof`` does."""
    from features.loaders import load_dataset
    from serving.batch.job import save_batch, score_customers
    from serving.batch.store import PredictionStore
    from serving.champions import load_champions
    from serving.config import ServingConfig

    cfg = ServingConfig(tracking_uri=uri, store_url=store_url)
    ds = load_dataset(data_dir)
    champions = load_champions(cfg.models, uri)
    store = PredictionStore(store_url)
    try:
        for month in months:
            batch = score_customers(ds, month, champions, cfg)
            save_batch(store, batch, cfg, source=str(data_dir.resolve()))
    finally:
        store.close()
    return ds


def monthly_cards(ds, store_url: str, months: list[pd.Timestamp], horizon: int | None):
    """Manager rows of every month's scorecard, from the predictions stored at its start; with
    ``risk_adjusted_count``, the risk-adjusted retention of the same predictions with every
    value set to 1 (kept customers / expected kept customers)."""
    from kpi.config import KpiConfig, OutcomeConfig
    from kpi.scorecard import scorecard
    from serving.batch.store import PredictionStore
    from serving.kpi_inputs import read_predictions

    cfg = KpiConfig(outcome=OutcomeConfig(horizon_days=horizon))
    store = PredictionStore(store_url)
    try:
        stored = read_predictions(store, months)
    finally:
        store.close()
    units = stored.predictions.assign(predicted_value=1.0)
    cards, counts = [], []
    for m in months:
        cards.append(scorecard(ds, stored.predictions, f"{m:%Y-%m}", cfg))
        counts.append(scorecard(ds, units, f"{m:%Y-%m}", cfg)["risk_adjusted_retention"])
    frame = pd.concat(cards, ignore_index=True)
    frame["risk_adjusted_count"] = pd.concat(counts, ignore_index=True)
    frame["expected_retention"] = frame["expected_retained_value"] / frame["starting_value"]
    return frame[frame["level"] == "manager"]


def summarise(managers: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    """Per-manager means over the months, and the book-wide pooled figures."""
    per = managers.groupby("account_manager_id")[list(METRICS)].mean()
    sums = managers[["retained_value", "expected_retained_value", "starting_value"]].sum()
    pooled = {
        "pooled_risk_adjusted_retention": float(
            sums["retained_value"] / sums["expected_retained_value"]
        ),
        "pooled_value_weighted_retention": float(sums["retained_value"] / sums["starting_value"]),
        "mean_churn_rate": float(managers["churn_rate"].mean()),
    }
    return per, pooled


def _fmt(c: dict[str, float]) -> str:
    return f"{c['rho']:+.2f} [{c['lo']:+.2f}, {c['hi']:+.2f}]"


def report(results: dict) -> str:
    """The result tables as Markdown."""
    lines = [
        f"{results['customers']:,} customers, seed {results['seed']}, "
        f"{results['managers']} managers; models trained on data to {results['train_asof']}; "
        f"months {', '.join(results['months'])}; {results['seconds']:.0f} s. "
        f"Spearman of skill with book riskiness: {results['skill_vs_risk']:+.2f}.",
        "",
        "| outcome window | metric (mean over months) | Spearman with skill | "
        "Spearman with book riskiness |",
        "|---|---|---|---|",
    ]
    for window, r in results["windows"].items():
        for col, label in METRICS.items():
            lines.append(
                f"| {window} | {label} | {_fmt(r['skill'][col])} | {_fmt(r['risk'][col])} |"
            )
        for diff in DIFFERENCES.values():
            lines.append(
                f"| {window} | {diff} | {_fmt(r['skill'][diff])} | {_fmt(r['risk'][diff])} |"
            )
    lines += [
        "",
        "| outcome window | mean churn rate | pooled VWR | pooled RAR |",
        "|---|---|---|---|",
    ]
    for window, r in results["windows"].items():
        p = r["pooled"]
        lines.append(
            f"| {window} | {p['mean_churn_rate']:.3f} | "
            f"{p['pooled_value_weighted_retention']:.3f} | "
            f"{p['pooled_risk_adjusted_retention']:.3f} |"
        )
    return "\n".join(lines)


def run(customers: int, seed: int, n_months: int, boot: int, work: Path) -> dict:
    """The whole backtest in ``work`` (used as CHURN_HOME)."""
    os.environ["CHURN_HOME"] = str(work)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    t0 = time.perf_counter()
    data_dir = work / "data"
    truth = prepare(data_dir, customers, seed)
    from features.loaders import resolve_as_of

    as_of = resolve_as_of(data_dir, None)
    months = backtest_months(as_of, n_months)
    train_asof = months[0] - _DAY
    uri, store_url = f"sqlite:///{work / 'mlflow.db'}", f"sqlite:///{work / 'serving.db'}"
    print(f"training on the data to {train_asof:%Y-%m-%d} ...", file=sys.stderr)
    trained = train_models(data_dir, train_asof, seed, uri)
    print(f"scoring {len(months)} month starts ...", file=sys.stderr)
    ds = score_month_starts(data_dir, months, uri, store_url)
    windows = {}
    for name, horizon in WINDOWS.items():
        print(f"scorecards, outcome window {name} ...", file=sys.stderr)
        per, pooled = summarise(monthly_cards(ds, store_url, months, horizon))
        windows[name] = {
            "skill": correlations(per, truth["skill"], boot, seed),
            "risk": correlations(per, truth["portfolio_risk"], boot, seed),
            "pooled": pooled,
            "per_manager": per.join(truth[["team", "skill", "portfolio_risk"]]).reset_index(),
        }
    return {
        "customers": customers,
        "seed": seed,
        "managers": len(truth),
        "train_asof": f"{train_asof:%Y-%m-%d}",
        "months": [f"{m:%Y-%m}" for m in months],
        "skill_vs_risk": float(
            spearman_rows(truth["skill"].to_numpy(), truth["portfolio_risk"].to_numpy())
        ),
        "models": trained["versions"],
        "churn_test_metrics": trained["churn_test"],
        "windows": windows,
        "seconds": time.perf_counter() - t0,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--months", type=int, default=6, help="Backtest months (month starts).")
    parser.add_argument("--bootstrap", type=int, default=2000, help="Bootstrap draws.")
    parser.add_argument("--json", type=Path, help="Also write the results (and per manager) here.")
    parser.add_argument("--keep", type=Path, help="Work in this folder and keep it.")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kpi-backtest-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        results = run(args.customers, args.seed, args.months, args.bootstrap, work)
    print(report(results))
    if args.json:
        for r in results["windows"].values():
            r["per_manager"] = r["per_manager"].to_dict("records")
        args.json.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
