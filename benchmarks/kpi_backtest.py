"""Backtest of the retention KPIs on generated data: which outcome window and which value
weighting rank account managers by their hidden skill?

    .venv/bin/python benchmarks/kpi_backtest.py                          # 20,000 customers, seed 7
    nice .venv/bin/python benchmarks/kpi_backtest.py --seeds 11 12 13 --json r.json
    nice .venv/bin/python benchmarks/kpi_backtest.py --seeds 7 8 9 --caps 0.75 0.95 0.99

Steps per seed, all in a temporary CHURN_HOME: generate the data set (its hidden truth holds each
manager's ``skill``); train both models with ``training.job.train`` on the data as it stood the
day before the first backtest month (so no outcome of a backtest month is in training);
batch-score every backtest month start into the prediction store, as ``churn score --asof`` does;
read those predictions back from the store (``kpi.inputs``) and compute each month's
scorecards for every outcome window (the month itself, P rescaled to it; 90 days, the model's
own horizon) and every retention weighting (``outcome.weights``: head count, value, log value,
value capped at a quantile of the book). The backtest months are the last ones whose 90-day
outcome the data holds, so both windows judge the same months.

Per manager, each metric is averaged over the months; the report gives its Spearman rank
correlation with the hidden skill (higher is fairer) and with the hidden riskiness of the book
(``portfolio_risk``: near 0 is fairer: luck of the draw should not pay), with 90% bootstrap
intervals over managers.
"""

# ruff: noqa: E402 - the sys.path fix below must run before the project imports

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

# Run as ``python benchmarks/kpi_backtest.py``, this folder is first on sys.path and its
# ``features.py`` / ``training.py`` would shadow the project's packages.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
ROOT = _HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from kpi.config import KpiConfig, OutcomeConfig, RetentionWeights
from kpi.periods import latest_complete_month

BOOK = {
    "retention_rate": "raw retention rate",
    "expected_retention": "expected retention (the predictions alone)",
}
WEIGHTED = {
    "risk_adjusted_retention": "risk-adjusted retention",
    "value_weighted_retention": "value-weighted retention",
    "score": "100-point score",
}
WINDOWS = {"month": None, "90 days": 90}  # outcome.horizon_days
_DAY = pd.Timedelta(days=1)


def weightings(caps: list[float]) -> dict[str, RetentionWeights]:
    """Head count, value, log value and value capped at each quantile of ``caps`` (and at the
    shipped default's quantile)."""
    default = RetentionWeights()
    out = {
        "head count": RetentionWeights(method="head_count"),
        "value": RetentionWeights(method="value"),
        "log value": RetentionWeights(method="log_value"),
    }
    for q in sorted({*caps, default.cap_quantile}):
        out[f"value capped at p{100 * q:g}"] = RetentionWeights(cap_quantile=q)
    return out


def backtest_months(as_of: pd.Timestamp, n: int, horizon_days: int = 90) -> list[pd.Timestamp]:
    """The last ``n`` month starts whose ``horizon_days`` outcome window ends within the data."""
    last = latest_complete_month(as_of, horizon_days)
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
    """Spearman of each column with ``truth`` and a 90% bootstrap interval over managers."""
    frame = per_manager.join(truth.rename("_truth"), how="inner").dropna()
    idx = np.random.default_rng(seed).integers(0, len(frame), (boot, len(frame)))
    y = frame["_truth"].to_numpy()
    out: dict[str, dict[str, float]] = {}
    for col in per_manager.columns:
        x = frame[col].to_numpy()
        lo, hi = np.nanpercentile(spearman_rows(x[idx], y[idx]), [5, 95])
        out[col] = {"rho": float(spearman_rows(x, y)), "lo": float(lo), "hi": float(hi)}
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

    # events after train_asof are dropped on purpose: no share of them is an error here
    ds = load_dataset(data_dir, as_of=train_asof, max_bad_row_share=None)
    result = train(ds, TrainingConfig(seed=seed), tracking_uri=uri, progress=False)
    ev = result.evaluation
    model = next(iter(ev.churn))  # the model first, then the baselines
    return {"versions": dict(result.versions), "churn_test": ev.churn[model]}


def score_month_starts(data_dir: Path, months: list[pd.Timestamp], uri: str, store_url: str):
    """Batch-score every month start into the store, as ``churn score --asof`` does."""
    from features.loaders import load_dataset
    from scoring.batch.job import save_batch, score_customers
    from scoring.champions import load_champions
    from scoring.config import ServingConfig
    from scoring.store.predictions import PredictionStore

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


def monthly_cards(
    ds, stored, months: list[pd.Timestamp], horizon: int | None, weights: RetentionWeights
) -> pd.DataFrame:
    """Manager rows of every month's scorecard, from the predictions stored at its start."""
    from kpi.scorecard import scorecard

    cfg = KpiConfig(outcome=OutcomeConfig(horizon_days=horizon, weights=weights))
    frame = pd.concat(
        [scorecard(ds, stored.predictions, f"{m:%Y-%m}", cfg) for m in months], ignore_index=True
    )
    frame["expected_retention"] = frame["expected_retained_value"] / frame["starting_value"]
    return frame[frame["level"] == "manager"]


def per_manager_means(managers: pd.DataFrame, columns) -> pd.DataFrame:
    """Per-manager means over the months."""
    return managers.groupby("account_manager_id")[list(columns)].mean()


def _fmt(c: dict[str, float], interval: bool = True) -> str:
    return f"{c['rho']:+.2f} [{c['lo']:+.2f}, {c['hi']:+.2f}]" if interval else f"{c['rho']:+.2f}"


def report(results: dict) -> str:
    """One seed's tables as Markdown: every window x weighting, with skill and with riskiness."""
    lines = [
        f"{results['customers']:,} customers, seed {results['seed']}, "
        f"{results['managers']} managers; models trained on data to {results['train_asof']}; "
        f"months {', '.join(results['months'])}; {results['seconds']:.0f} s. "
        f"Spearman of skill with book riskiness: {results['skill_vs_risk']:+.2f}.",
        "",
        "| window | weighting | metric (mean over months) | Spearman with skill | "
        "Spearman with book riskiness |",
        "|---|---|---|---|---|",
    ]
    for window, r in results["windows"].items():
        for col, label in BOOK.items():
            lines.append(
                f"| {window} | - | {label} | {_fmt(r['book']['skill'][col])} | "
                f"{_fmt(r['book']['risk'][col])} |"
            )
        for weighting, w in r["weightings"].items():
            for col, label in WEIGHTED.items():
                lines.append(
                    f"| {window} | {weighting} | {label} | {_fmt(w['skill'][col])} | "
                    f"{_fmt(w['risk'][col])} |"
                )
    return "\n".join(lines)


def seeds_table(all_results: list[dict], metric: str = "risk_adjusted_retention") -> str:
    """Spearman of ``metric`` with skill, one row per seed and window, one column per weighting."""
    names = list(next(iter(all_results[0]["windows"].values()))["weightings"])
    lines = [
        f"Spearman of {WEIGHTED[metric]} (mean over months) with the hidden skill:",
        "",
        "| seed | window | raw retention | " + " | ".join(names) + " |",
        "|---|---|---|" + "---|" * len(names),
    ]
    for res in all_results:
        for window, r in res["windows"].items():
            cells = [_fmt(r["weightings"][n]["skill"][metric], False) for n in names]
            raw = _fmt(r["book"]["skill"]["retention_rate"], False)
            lines.append(f"| {res['seed']} | {window} | {raw} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run(customers: int, seed: int, n_months: int, boot: int, work: Path, caps: list[float]) -> dict:
    """The whole backtest of one seed in ``work`` (used as CHURN_HOME)."""
    from kpi.inputs import read_predictions
    from scoring.store.predictions import PredictionStore

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
    print(f"seed {seed}: training on the data to {train_asof:%Y-%m-%d} ...", file=sys.stderr)
    trained = train_models(data_dir, train_asof, seed, uri)
    print(f"seed {seed}: scoring {len(months)} month starts ...", file=sys.stderr)
    ds = score_month_starts(data_dir, months, uri, store_url)
    store = PredictionStore(store_url)
    try:
        stored = read_predictions(store, months)
    finally:
        store.close()
    windows: dict[str, dict] = {}
    for name, horizon in WINDOWS.items():
        print(f"seed {seed}: scorecards, outcome window {name} ...", file=sys.stderr)
        entry: dict[str, dict] = {"weightings": {}}
        for i, (label, weights) in enumerate(weightings(caps).items()):
            cards = monthly_cards(ds, stored, months, horizon, weights)
            if i == 0:
                book = per_manager_means(cards, BOOK)
                entry["book"] = {
                    "skill": correlations(book, truth["skill"], boot, seed),
                    "risk": correlations(book, truth["portfolio_risk"], boot, seed),
                }
            per = per_manager_means(cards, WEIGHTED)
            entry["weightings"][label] = {
                "skill": correlations(per, truth["skill"], boot, seed),
                "risk": correlations(per, truth["portfolio_risk"], boot, seed),
            }
        windows[name] = entry
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
    parser.add_argument("--seeds", type=int, nargs="+", default=[7])
    parser.add_argument("--months", type=int, default=6, help="Backtest months (month starts).")
    parser.add_argument("--bootstrap", type=int, default=2000, help="Bootstrap draws.")
    parser.add_argument(
        "--caps", type=float, nargs="*", default=[], help="More cap quantiles to compare."
    )
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    parser.add_argument("--keep", type=Path, help="Work in this folder (one per seed) and keep it.")
    args = parser.parse_args(argv)
    results = []
    for seed in args.seeds:
        with tempfile.TemporaryDirectory(prefix="kpi-backtest-") as tmp:
            work = args.keep / f"seed{seed}" if args.keep else Path(tmp)
            work.mkdir(parents=True, exist_ok=True)
            results.append(run(args.customers, seed, args.months, args.bootstrap, work, args.caps))
        print(report(results[-1]) + "\n", flush=True)
    print(seeds_table(results))
    print()
    print(seeds_table(results, "score"))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
