"""``churn bench``: run every real data set through its protocol and write ``docs/benchmarks.md``.

Snapshot data sets go through :func:`training.snapshot.models.cross_validate`; event logs through
:func:`training.bench.transaction_log.evaluate_transaction_log`. Each data set's result is a JSON-able
dict cached under ``$CHURN_HOME/bench/<name>.json``, so ``--only NAME`` refreshes one data set and
the report still shows the others' last results.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import Field

from core.bundle import jsonable
from core.config import Frozen, load_section
from core.errors import ChurnError
from core.paths import home
from features.adapters import cdnow
from features.adapters.importer import ADAPTERS, Adapter, get_adapter
from features.adapters.snapshot import SnapshotData
from features.config import FeatureConfig, PopulationConfig
from features.dataset import Dataset
from features.pipeline.btyd import fit_bgnbd, fit_gamma_gamma, rf_summary
from training.bench.targets import assess
from training.bench.transaction_log import evaluate_transaction_log
from training.config import ConfigError, TrainingConfig
from training.snapshot.models import SnapshotConfig, cross_validate

BTYD_CHECK_CUTOFF = pd.Timestamp("1997-10-01")
"""End of the published 39-week calibration period of the CDNOW BG/NBD fit."""


class BenchConfig(Frozen):
    """The ``bench:`` section: cross-validation, threads and the event-log population."""

    snapshot: SnapshotConfig = SnapshotConfig()
    num_threads: int = Field(1, ge=1)
    """Overrides ``training.num_threads``: on data sets of a few thousand rows, LightGBM's thread
    start-up costs more than it saves, badly so on a busy machine."""
    event_log_active_window_days: int = Field(3650, gt=0)
    """Event logs score every customer of the cohort (as the published recency figure does), not
    only those active in the product's default 365-day window."""


def load_bench_config(path: str | Path | None) -> BenchConfig:
    """The ``bench:`` section of a YAML file (defaults when absent); other sections ignored."""
    return load_section(path, "bench", BenchConfig, ConfigError)


def cache_dir() -> Path:
    return home() / "bench"


def _metrics(table: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    return {k: {m: float(v) for m, v in row.items()} for k, row in table.items()}


def _import_report(data: Dataset | SnapshotData) -> dict[str, Any]:
    if isinstance(data, SnapshotData):
        r = data.report
        return {r.table: {"read": r.read, "accepted": r.accepted, "rejected": r.rejected}}
    return {
        n: {"read": r.read, "accepted": r.accepted, "rejected": r.rejected}
        for n, r in data.reports.items()
    }


def run_snapshot(
    adapter: Adapter, data: SnapshotData, cfg: TrainingConfig, bench: BenchConfig
) -> dict[str, Any]:
    """Cross-validated metrics of a snapshot data set (see :mod:`training.snapshot.models`)."""
    assert adapter.rules is not None
    res = cross_validate(data, adapter.rules, cfg, bench.snapshot)
    k = res.folds
    return {
        "protocol": (
            f"snapshot: stratified {k}-fold CV, duplicate groups kept in one fold; each fold "
            f"early-stops, calibrates and picks the tree shape on 1/{bench.snapshot.inner_folds} "
            "of its training part; mean (± sd) over folds"
        ),
        "rows": res.rows,
        "churn_rate": res.churn_rate,
        "churn": _metrics(res.churn),
        "churn_std": _metrics(res.churn_std),
        "value": _metrics(res.value),
        "value_std": _metrics(res.value_std),
        "notes": list(res.notes),
    }


def btyd_check(data: Dataset) -> dict[str, Any]:
    """BG/NBD and Gamma-Gamma fitted on the published 39-week calibration period of this log."""
    s = rf_summary(data.tables["transactions"], BTYD_CHECK_CUTOFF)
    bg = fit_bgnbd(s["frequency"], s["recency"], s["T"])
    gg = fit_gamma_gamma(s["frequency"], s["monetary"])
    return {
        "cutoff": f"{BTYD_CHECK_CUTOFF:%Y-%m-%d}",
        "customers": len(s),
        "bgnbd": vars(bg),
        "gamma_gamma": vars(gg),
    }


def run_event_log(
    data: Dataset, cfg: TrainingConfig, features: FeatureConfig, bench: BenchConfig
) -> dict[str, Any]:
    """Point-in-time metrics of an event log at the CDNOW test cutoff, with the BTYD baselines."""
    population = PopulationConfig(active_window_days=bench.event_log_active_window_days)
    features = features.model_copy(update={"population": population})
    res = evaluate_transaction_log(data, cdnow.CUTOFF, features, cfg)
    plan = res.plan.describe()
    return {
        "protocol": (
            f"point in time: test cutoff {plan['test_cutoff']}, horizon {plan['horizon_days']} "
            f"days; trained on monthly cutoffs {plan['train_cutoffs']}, early-stopped and "
            f"calibrated on {plan['calibration_cutoff']}; BTYD fitted on purchases before the "
            "test cutoff"
        ),
        "rows": res.rows,
        "churn_rate": res.churn_rate,
        "churn": _metrics(res.churn),
        "value": _metrics(res.value),
        "bgnbd_at_cutoff": vars(res.bgnbd),
        "gamma_gamma_at_cutoff": vars(res.gamma_gamma),
        "in_time_cv_roc_auc": res.in_time_cv_roc_auc,
        "btyd_check": btyd_check(data),
        "label_definition": res.label_definition.get("text", ""),
        "notes": [],
    }


def run_dataset(
    name: str, root: Path, cfg: TrainingConfig, features: FeatureConfig, bench: BenchConfig
) -> dict[str, Any]:
    """Load one data set from ``root/<folder>`` through its adapter and run its protocol."""
    adapter = get_adapter(name)
    folder = root / adapter.folder
    if not folder.is_dir():
        raise ChurnError(f"data set {name!r}: folder {folder} not found under {root}")
    started = time.perf_counter()
    data = adapter.load(folder)
    if isinstance(data, SnapshotData):
        result = run_snapshot(adapter, data, cfg, bench)
    else:
        result = run_event_log(data, cfg, features, bench)
    result.update(
        {
            "name": adapter.name,
            "title": adapter.title,
            "kind": adapter.kind,
            "source": f"{adapter.folder}/{adapter.file}",
            "import": _import_report(data),
            "seconds": round(time.perf_counter() - started, 1),
            "generated": datetime.now(UTC).strftime("%Y-%m-%d"),
            "command": f"churn bench --only {adapter.name}",
        }
    )
    result.update(assess(result))
    return jsonable(result)


def run_bench(
    root: str | Path,
    only: str | None,
    cfg: TrainingConfig,
    features: FeatureConfig,
    bench: BenchConfig,
    on_start: Callable[[str], None] = lambda _: None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Run ``only`` or every data set found under ``root``; returns (results, skipped notes)."""
    root = Path(root)
    if not root.is_dir():
        raise ChurnError(f"data root {root} does not exist (pass --data-root)")
    names = [get_adapter(only).name] if only else list(ADAPTERS)
    cfg = cfg.model_copy(update={"num_threads": bench.num_threads})
    results, skipped = [], []
    for name in names:
        if not only and not (root / ADAPTERS[name].folder).is_dir():
            skipped.append(f"{name}: no folder {ADAPTERS[name].folder} under {root}")
            continue
        on_start(name)
        results.append(run_dataset(name, root, cfg, features, bench))
    return results, skipped


def save_results(results: list[dict[str, Any]], folder: Path | None = None) -> None:
    """Cache each result as ``<name>.json``."""
    out = folder or cache_dir()
    out.mkdir(parents=True, exist_ok=True)
    for r in results:
        (out / f"{r['name']}.json").write_text(json.dumps(r, indent=1), encoding="utf-8")


def cached_results(folder: Path | None = None) -> dict[str, dict[str, Any]]:
    """Every cached result, by data set name (unreadable files are skipped)."""
    src = folder or cache_dir()
    found: dict[str, dict[str, Any]] = {}
    for name in ADAPTERS:
        path = src / f"{name}.json"
        if path.is_file():
            try:
                found[name] = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError:
                continue
    return found
