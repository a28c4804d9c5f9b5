"""Training time and peak memory of ``churn train`` at 100,000 and 1,000,000 customer-cutoff rows,
and its overhead against the bare LightGBM fits the job needs.

    .venv/bin/python benchmarks/training.py                       # both sizes
    .venv/bin/python benchmarks/training.py --rows 100000         # one size

For each size: generate a data set whose training set has about that many rows and write it as
Parquet (not timed); then, in a fresh process, load it and run the whole training job (features,
both models, baselines, MLflow logging, registration, gate) into a temporary store, recording
wall time per phase and the process's peak RSS. While the job runs, every ``lightgbm.train`` call
is recorded (parameters, training matrix, labels, init score, rounds actually trained) with the
model it belongs to: each churn candidate on each validation cutoff, the churn refit, the value
model and its refit, the uplift learners; and so is each logistic regression the ``lr_boosted``
candidate starts from. After the job the same fits run again bare (plain ``lightgbm.train`` on the
same matrix for the same rounds, no validation set; the regressions as they were called). The
floor is their sum: ratio = whole job / bare fits (the issue's goal: at most 2x). The recording
keeps the matrices alive, so the peak RSS is somewhat above a plain run's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ROWS_PER_CUSTOMER_PROBE = 3000  # customers in the probe that estimates rows per customer


BARE = {
    # function on the call stack (innermost first) -> the model the fit belongs to
    "_fold_scores": "churn candidates",
    "fit_churn_selected": "churn refit",
    "fit_value": "value",
    "refit_value": "value refit",
    "fit_uplift": "uplift",
}
PHASE_FITS = {  # job phase -> the bare fits it needs
    "churn model": ("churn candidates", "churn refit"),
    "value model": ("value", "value refit"),
    "uplift model": ("uplift",),
}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def customers_for(rows: int, seed: int) -> int:
    """Customers whose training set has about ``rows`` customer-cutoff rows (from a probe)."""
    from features.config import FeatureConfig
    from features.pipeline.build import build_training_set
    from features.synthetic.generator import generate
    from training.config import TrainingConfig
    from training.job import plan_for

    ds = generate(ROWS_PER_CUSTOMER_PROBE, seed=seed).dataset
    features, cfg = FeatureConfig(), TrainingConfig()
    frame = build_training_set(ds, plan_for(ds, features, cfg).all, features)
    return max(100, round(rows * ROWS_PER_CUSTOMER_PROBE / len(frame)))


@dataclass
class Fit:
    """One recorded fit: what it belongs to and what it takes to run it again bare."""

    model: str  # a key of BARE's values
    label: str  # candidate @ validation cutoff, learner part, ...
    kind: str  # "lightgbm" or "logistic regression"
    args: dict[str, Any]
    job_s: float


def _caller(depth: int = 2) -> tuple[str, str]:
    """(model, label) of the fit being made, from the call stack."""
    frame = sys._getframe(depth)
    name, cutoff = "", ""
    while frame is not None:
        code = frame.f_code.co_name
        if code == "fit_candidate":
            name = str(frame.f_locals.get("name", ""))
        if code == "_fold_scores":
            cutoff = f" @ {frame.f_locals['fold'].validation:%Y-%m-%d}"
        if code in BARE:
            return BARE[code], f"{name}{cutoff}" if name else code
        frame = frame.f_back  # type: ignore[assignment]
    return "other", ""


@contextmanager
def recording(fits: list[Fit]) -> Iterator[None]:
    """Record every ``lightgbm.train`` call and every candidate logistic regression."""
    import lightgbm as lgb

    import training.candidates as candidates

    train, linear = lgb.train, candidates.fit_linear

    def lgb_train(params, train_set, num_boost_round=100, *args, **kwargs):
        args_ = {
            "params": dict(params),
            "data": train_set.data,
            "label": train_set.label,
            "init_score": train_set.init_score,
            "categorical_feature": train_set.categorical_feature,
            "dataset_params": dict(train_set.params or {}),
        }
        model, label = _caller()
        done = [0]

        def count(env: Any) -> None:  # the returned booster keeps only the best rounds
            done[0] = env.iteration + 1 - env.begin_iteration

        kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), count]
        t = time.perf_counter()
        booster = train(params, train_set, num_boost_round, *args, **kwargs)
        args_["rounds"] = done[0]
        fits.append(Fit(model, label, "lightgbm", args_, time.perf_counter() - t))
        return booster

    def fit_linear(x, y, spec, c, seed):
        model, label = _caller()
        t = time.perf_counter()
        out = linear(x, y, spec, c, seed)
        args_ = {"x": x, "y": y, "spec": spec, "c": c, "seed": seed}
        fits.append(Fit(model, label, "logistic regression", args_, time.perf_counter() - t))
        return out

    lgb.train, candidates.fit_linear = lgb_train, fit_linear
    try:
        yield
    finally:
        lgb.train, candidates.fit_linear = train, linear


def bare(fit: Fit) -> float:
    """Seconds to run ``fit`` again bare."""
    import lightgbm as lgb

    from training.candidates import fit_linear

    a = fit.args
    t = time.perf_counter()
    if fit.kind == "lightgbm":
        train_set = lgb.Dataset(
            a["data"],
            a["label"],
            init_score=a["init_score"],
            categorical_feature=a["categorical_feature"],
            params=a["dataset_params"],
        )
        lgb.train(a["params"], train_set, num_boost_round=a["rounds"])
    else:
        fit_linear(a["x"], a["y"], a["spec"], a["c"], a["seed"])
    return time.perf_counter() - t


def child(data: Path, home: Path, threads: int | None) -> dict:
    """Run in a fresh process: load, train (whole job, fits recorded), then the fits bare."""
    os.environ["CHURN_HOME"] = str(home)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    from threadpoolctl import threadpool_limits

    from core.registry import client_for, resolve_uri
    from features.loaders import load_dataset
    from training.config import TrainingConfig
    from training.job import train

    cfg = TrainingConfig() if threads is None else TrainingConfig(num_threads=threads)
    t0 = time.perf_counter()
    ds = load_dataset(data)
    t_store = time.perf_counter()
    client_for(resolve_uri(None))  # the tracking store is created by the first run only
    t1 = time.perf_counter()
    fits: list[Fit] = []
    with recording(fits):
        result = train(ds, cfg, progress=False)
    t2 = time.perf_counter()
    peak_job = _peak_mb()

    rows: list[dict] = []
    limits = threadpool_limits(limits=cfg.num_threads)  # BLAS/OpenMP pools held as in the job
    for fit in fits:
        a = fit.args
        n = len(a["data"] if fit.kind == "lightgbm" else a["x"])
        rounds = a.get("rounds", 0)
        rows.append({"model": fit.model, "fit": fit.label, "kind": fit.kind, "rows": n,
                     "rounds": rounds, "job_s": fit.job_s, "bare_s": bare(fit)})  # fmt: skip
    limits.restore_original_limits()
    fits.clear()
    trained = result.trained
    bare_s = sum(r["bare_s"] for r in rows)
    n_rows = len(trained.split.train) + len(trained.split.calibration) + len(trained.split.test)
    return {
        "rows": n_rows,
        "train_rows": len(trained.split.train),
        "features": len(trained.spec.names),
        "customers": len(ds.tables["customers"]),
        "load_s": t_store - t0,
        "store_s": t1 - t_store,
        "job_s": t2 - t1,
        "steps_s": result.steps,
        "fits": rows,
        "bare_fits_s": bare_s,
        "overhead_ratio": (t2 - t1) / bare_s,
        "peak_rss_mb": peak_job,
        "threads": cfg.num_threads,
        "chosen": trained.selection.chosen if trained.selection else None,
        "test_metrics": {
            "churn": {k: v["roc_auc"] for k, v in trained.evaluation.churn.items()},
            "value": {k: v["spearman"] for k, v in trained.evaluation.value.items()},
        },
    }


def run_size(rows: int, seed: int, threads: int | None) -> dict:
    """Generate the data (untimed), then time the job in a fresh process."""
    from features.synthetic.generator import generate, write_dataset

    n = customers_for(rows, seed)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        write_dataset(generate(n, seed=seed), data)
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(data), str(Path(tmp) / "home")]
            + ([] if threads is None else ["--threads", str(threads)]),
            capture_output=True,
            text=True,
            cwd=tmp,
            check=False,
        )
    if out.returncode != 0:
        raise SystemExit(f"benchmark child failed for {rows:,} rows:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _by_model(fits: list[dict]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for f in fits:
        m = out.setdefault(f["model"], {"n": 0, "job_s": 0.0, "bare_s": 0.0})
        m["n"] += 1
        m["job_s"] += f["job_s"]
        m["bare_s"] += f["bare_s"]
    return out


def report(r: dict, detail: bool = False) -> str:
    """The job against its bare fits, per phase and per model (``detail``: every fit)."""
    models = _by_model(r["fits"])
    lines = [
        f"{r['rows']:>9,} customer-cutoff rows ({r['customers']:,} customers, "
        f"{r['train_rows']:,} training rows x {r['features']} features), "
        f"{r['threads']} LightGBM thread(s), chosen candidate {r['chosen']}",
        f"  load {r['load_s']:.1f}s; tracking store created before the job (a first run's "
        f"cost, not timed below) {r['store_s']:.1f}s",
        f"  whole training job {r['job_s']:.1f}s; "
        f"bare fits {r['bare_fits_s']:.1f}s ({len(r['fits'])} fits) -> "
        f"ratio {r['overhead_ratio']:.2f}x (goal <= 2x)",
        f"  {'phase':<16}{'job s':>8}  {'bare fits':<38}{'n':>4}{'bare s':>8}{'in job s':>10}",
    ]
    for phase, seconds in r["steps_s"].items():
        parts = PHASE_FITS.get(phase, ())
        if not parts:
            lines.append(f"  {phase:<16}{seconds:>8.2f}  {'-':<38}{'':>4}{0.0:>8.2f}")
        for i, model in enumerate(parts):
            m = models.get(model, {"n": 0, "job_s": 0.0, "bare_s": 0.0})
            head = f"  {phase:<16}{seconds:>8.2f}  " if i == 0 else " " * 26
            lines.append(f"{head}{model:<38}{m['n']:>4}{m['bare_s']:>8.2f}{m['job_s']:>10.2f}")
    total = sum(r["steps_s"].values())
    lines.append(f"  {'total':<16}{total:>8.2f}  {'':<38}{'':>4}{r['bare_fits_s']:>8.2f}")
    other = models.get("other")
    if other:
        lines.append(f"  (fits outside the listed models: {other['n']}, {other['bare_s']:.2f}s)")
    if detail:
        lines.append(f"  {'model':<18}{'fit':<30}{'kind':<21}{'rows':>8}{'rounds':>7}"
                     f"{'bare s':>8}{'in job s':>9}")  # fmt: skip
        for f in r["fits"]:
            lines.append(
                f"  {f['model']:<18}{f['fit']:<30}{f['kind']:<21}{f['rows']:>8,}"
                f"{f['rounds']:>7}{f['bare_s']:>8.2f}{f['job_s']:>9.2f}"
            )
    lines += [
        f"  peak RSS {r['peak_rss_mb']:,.0f} MB",
        f"  test ROC-AUC {json.dumps(r['test_metrics']['churn'])}",
        f"  test Spearman {json.dumps(r['test_metrics']['value'])}",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--threads", type=int, help="LightGBM threads (default: the training config's)."
    )
    parser.add_argument("--json", type=Path, help="Also write the results to this JSON file.")
    parser.add_argument("--fits", action="store_true", help="Also list every bare fit.")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(Path(args.child[0]), Path(args.child[1]), args.threads)))
        return
    print(f"cpus: {os.cpu_count()}; load average {os.getloadavg()[0]:.1f} at start")
    results = []
    for rows in args.rows:
        r = run_size(rows, args.seed, args.threads)
        results.append(r)
        print(report(r, args.fits), flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at end")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
