"""The snapshot training job behind ``churn train-snapshot``: a snapshot -> models -> MLflow.

Snapshot data (one row per customer with a churn flag) has no event history, so instead of the
time split the job holds out one stratified, duplicate-grouped part (1/``folds``, 20% by default).
On the rest it fits the churn model (and the value model when the data set has a value column)
exactly as :mod:`training.snapshot.models` does in each fold, scores model, logistic regression and the
data set's rules on the holdout with the project's metrics, logs one MLflow run, registers both
models under the data set's own names and runs the promotion gate on the holdout.

The gate and the bundle metrics read the event-log training set's columns, so the holdout carries
them: ``revenue_1d`` holds what a churner takes away (the value column, else 1) and
``future_value`` the value kept at the label date, both at a one-day horizon (scaled by 1).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from rich.console import Console

from core.bundle import ModelBundle
from core.config import Frozen, load_section
from core.csv_out import to_csv_text
from core.lang import Lang
from core.notes import Note, note
from core.registry import client_for, resolve_uri
from features.adapters.importer import get_adapter
from features.adapters.snapshot import (
    LABEL,
    VALUE,
    AdapterError,
    ColumnInfo,
    SnapshotData,
    infer_spec,
    read_snapshot,
)
from features.adapters.sources import read_file
from training.config import ConfigError, TrainingConfig
from training.evaluation import plots
from training.evaluation.baselines import as_sklearn, logistic_pipeline
from training.evaluation.compare import (
    MODEL,
    Evaluation,
    churn_bundle_metrics,
    value_bundle_metrics,
)
from training.evaluation.metrics import churn_metrics, value_metrics
from training.promotion import Decision, gate
from training.snapshot.models import (
    CARRY_FORWARD,
    LOGISTIC,
    Rules,
    SnapshotConfig,
    campaign_with_costs,
    contact_costs,
    fit_value_bundle,
    group_folds,
    inner_split,
    refit_churn,
    rule_probability,
    snapshot_churn,
    snapshot_spec,
    source_metadata,
)
from training.spec import VALUE_LABEL
from training.tracking import (
    ensure_experiment,
    flat_params,
    log_bundle,
    log_evaluation_metrics,
    using_store,
)

HORIZON_DAYS = 1
LOST_VALUE = f"revenue_{HORIZON_DAYS}d"


class SnapshotJobConfig(Frozen):
    """The ``snapshot:`` section: holdout, inner split, tree shapes and the registered names."""

    split: SnapshotConfig = SnapshotConfig()
    """``folds``: the holdout is one of this many stratified parts (5: an 80/20 holdout)."""
    experiment: str | None = None
    """MLflow experiment; default ``<name>-snapshot``."""
    churn_model_name: str | None = None
    """Registered churn model; default ``<name>-churn-model`` (never the main ``churn-model``)."""
    value_model_name: str | None = None
    """Registered value model; default ``<name>-value-model``."""
    refit_all: bool = True
    """On (default): register the churn model refitted on every row of the file (holdout
    included), with the tree shape, round count (scaled to the rows) and calibrator of the model
    evaluated on the holdout, as ``churn train`` refits on every labelled cutoff after
    validation; the metrics and the promotion gate are then those of the evaluated model, not of
    the registered one. Needs ``split.refit``. Off: the evaluated model itself is registered."""

    def names(self, data_set: str) -> tuple[str, str, str]:
        """(experiment, churn model name, value model name) for ``data_set``."""
        return (
            self.experiment or f"{data_set}-snapshot",
            self.churn_model_name or f"{data_set}-churn-model",
            self.value_model_name or f"{data_set}-value-model",
        )


def load_snapshot_job_config(path: str | Path | None = None) -> SnapshotJobConfig:
    """The ``snapshot:`` section of a YAML file (defaults when absent); other sections ignored."""
    return load_section(path, "snapshot", SnapshotJobConfig, ConfigError)


@dataclass(frozen=True)
class SnapshotFit:
    """Models fitted on the training part and their holdout evaluation."""

    churn: ModelBundle
    value: ModelBundle | None
    evaluation: Evaluation
    holdout: pd.DataFrame  # holdout rows with the gate's columns (LOST_VALUE, future_value)
    rows: dict[str, int]  # fit, validation and holdout row counts
    registered: ModelBundle | None = None
    """The churn model to register when it is not ``churn`` itself (refitted on every row)."""


@dataclass(frozen=True)
class SnapshotTrainResult:
    """The fit, and where it is logged: run, registered versions and the gate's decisions."""

    name: str
    fit: SnapshotFit
    run_id: str
    tracking_uri: str
    versions: dict[str, str]
    decisions: dict[str, Decision]
    timings: dict[str, float]

    @property
    def evaluation(self) -> Evaluation:
        return self.fit.evaluation


def load_snapshot(name: str, path: str | Path) -> tuple[SnapshotData, Rules]:
    """The snapshot data set read by adapter ``name`` and the adapter's rule baselines."""
    adapter = get_adapter(name)
    if adapter.kind != "snapshot" or adapter.rules is None:
        raise AdapterError(
            f"{adapter.name} is an event-log data set: import it with `churn import` and train it "
            "with `churn train --data DIR`"
        )
    data = adapter.load(Path(path))
    assert isinstance(data, SnapshotData)
    return data, adapter.rules


def no_rules(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """A snapshot of an unknown layout has no rule baselines (logistic regression remains)."""
    return {}


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def default_name(path: str | Path) -> str:
    """The data set name of a file: its stem as a lower-case slug (``Churn Data.csv`` ->
    ``churn-data``); the models are registered as ``<name>-churn-model``."""
    slug = re.sub(r"[^a-z0-9]+", "-", Path(path).stem.lower()).strip("-")
    return slug[:100] or "snapshot"


def check_name(name: str) -> str:
    """``name`` when MLflow accepts ``<name>-churn-model`` as a registered model name."""
    if not _NAME.match(name):
        raise AdapterError(
            f"--name {name!r}: use letters, digits, '-', '_' or '.', starting with a letter or digit"
        )
    return name


def read_snapshot_file(
    path: str | Path,
    *,
    label: str,
    id_column: str | None = None,
    positive: str | None = None,
    value: str | None = None,
    cost: str | None = None,
    name: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | int | None = None,
    drop: tuple[str, ...] = (),
) -> tuple[SnapshotData, list[ColumnInfo]]:
    """A snapshot file of any layout (CSV/TSV/whitespace text, Parquet, Excel) read with a spec
    inferred from its columns, leaving out the ``drop`` columns; returns the data and what was
    made of each column."""
    p = Path(path)
    if p.is_dir():
        raise AdapterError(f"{p}: is a folder; give the snapshot file (or --spec NAME)")
    raw = read_file(p, encoding=encoding, delimiter=delimiter, sheet=sheet)
    data_set = check_name(name) if name else default_name(p)
    spec, columns = infer_spec(
        raw,
        name=data_set,
        label=label,
        source=p.name,
        id_column=id_column,
        positive=positive,
        value=value,
        cost=cost,
        drop=drop,
    )
    data = read_snapshot(raw, spec, p.name)
    notes = tuple(raw.attrs.get("notes", ())) + data.notes
    return replace(data, notes=notes), columns


def _metric_args(cfg: TrainingConfig) -> dict[str, Any]:
    return {
        "top_k_shares": cfg.top_k_shares,
        "economics": cfg.campaign,
        "bins": cfg.calibration_bins,
    }


def fit_snapshot(
    data: SnapshotData, rules: Rules, cfg: TrainingConfig, job: SnapshotJobConfig
) -> SnapshotFit:
    """Fit on a stratified holdout split and score models and baselines on the holdout."""
    # a snapshot's value target is the value kept (0 for churners), an unconditional figure
    unconditional = cfg.value.model_copy(update={"target": "unconditional"})
    cfg = cfg.model_copy(update={"value": unconditional})
    frame, spec, snap = data.frame, snapshot_spec(data), job.split
    y = frame[LABEL].to_numpy(np.float64)
    value = frame[VALUE].to_numpy(np.float64) if data.value else None
    train, test = group_folds(y, data.groups, snap.folds, cfg.seed)[0]
    fit_rows, valid_rows = inner_split(train, y, data.groups, snap, cfg.seed)
    kept = value * (1.0 - y) if value is not None else None
    holdout = frame.iloc[test].assign(**{LOST_VALUE: value[test] if value is not None else 1.0})
    if kept is not None:
        holdout[VALUE_LABEL] = kept[test]
    holdout = holdout.reset_index(drop=True)

    meta = {**source_metadata(data), **_cost_metadata(data, cfg)}
    churn = snapshot_churn(frame, spec, train, data.groups, cfg, snap, cfg.seed)
    churn = replace(churn, metadata={**churn.metadata, **meta})
    scores, p = churn_bundle_metrics(churn, holdout, cfg, HORIZON_DAYS)
    registered = churn
    if job.refit_all and snap.refit:
        every = np.arange(len(frame))
        registered = refit_churn(churn, frame, spec, every, len(train), cfg, snap)
    y_test, lost = y[test], holdout[LOST_VALUE].to_numpy(np.float64)
    churn_table = {MODEL: scores}
    churn_test = holdout[["customer_id", LABEL, LOST_VALUE]].rename(
        columns={LOST_VALUE: "lost_value"}
    )
    churn_test["p_churn"] = p
    x_lr = as_sklearn(frame, spec)
    lr = logistic_pipeline(spec, cfg.seed).fit(x_lr.iloc[train], y[train])
    p_lr = lr.predict_proba(x_lr.iloc[test])[:, 1]
    churn_table[LOGISTIC] = churn_metrics(p_lr, y_test, lost, **_metric_args(cfg))
    churn_test[f"p_{LOGISTIC}"] = p_lr
    for name, score in rules(frame).items():
        p_rule = rule_probability(score, y, train)[test]
        churn_table[name] = churn_metrics(
            p_rule, y_test, lost, rank_score=score[test], **_metric_args(cfg)
        )
        churn_test[f"p_{name}"] = p_rule
    cost = contact_costs(data, cfg.campaign)
    if cost is not None:
        for scorer, metrics in churn_table.items():
            p_scorer = churn_test["p_churn" if scorer == MODEL else f"p_{scorer}"].to_numpy()
            metrics.update(campaign_with_costs(p_scorer, y_test, lost, cost[test], cfg.campaign))

    value_bundle, value_table, value_test = None, {}, pd.DataFrame()
    if kept is not None and value is not None:
        value_bundle = fit_value_bundle(frame, spec, kept, fit_rows, valid_rows, cfg)
        value_bundle = replace(value_bundle, metadata={**value_bundle.metadata, **meta})
        v_scores, v_pred = value_bundle_metrics(value_bundle, holdout, cfg)
        value_table = {
            MODEL: v_scores,
            CARRY_FORWARD: value_metrics(kept[test], value[test], cfg.calibration_bins),
        }
        value_test = pd.DataFrame(
            {
                "customer_id": holdout["customer_id"].to_numpy(),
                VALUE_LABEL: kept[test],
                "value": v_pred,
                CARRY_FORWARD: value[test],
            }
        )
    ev = Evaluation(churn_table, value_table, churn_test, value_test)
    rows = {"fit": len(fit_rows), "validation": len(valid_rows), "holdout": len(test)}
    return SnapshotFit(churn, value_bundle, ev, holdout, rows, registered)


def _cost_metadata(data: SnapshotData, cfg: TrainingConfig) -> dict[str, object]:
    """How the per-customer contact cost was used, recorded with the models."""
    cost = contact_costs(data, cfg.campaign)
    if cost is None or data.spec is None:
        return {}
    blank = int(data.frame[data.cost].isna().sum()) if data.cost else 0
    return {
        "contact_cost": {
            "column": data.spec.cost,
            "mean": float(cost.mean()),
            "median": float(np.median(cost)),
            "blank_set_to_cost_per_contact": blank,
            "cost_per_contact": cfg.campaign.cost_per_contact,
            "used_in": "campaign_profit, campaign_contact_share",
        }
    }


def train_snapshot(
    name: str,
    path: str | Path,
    cfg: TrainingConfig | None = None,
    job: SnapshotJobConfig | None = None,
    *,
    tracking_uri: str | None = None,
    register: bool = True,
    progress: bool = True,
) -> SnapshotTrainResult:
    """Load, fit, evaluate, log and (unless ``register`` is False) register and gate the models
    of snapshot data set ``name``; same data + config + seed give the same metrics."""
    return train_snapshot_data(
        lambda: load_snapshot(name, path),
        cfg,
        job,
        tracking_uri=tracking_uri,
        register=register,
        progress=progress,
        what=str(path),
    )


def train_snapshot_data(
    load: Callable[[], tuple[SnapshotData, Rules]] | SnapshotData,
    cfg: TrainingConfig | None = None,
    job: SnapshotJobConfig | None = None,
    *,
    tracking_uri: str | None = None,
    register: bool = True,
    progress: bool = True,
    what: str = "the snapshot",
    lang: Lang = "en",
) -> SnapshotTrainResult:
    """:func:`train_snapshot` on a snapshot already read (no rule baselines), or on what ``load``
    returns: fit, evaluate, log, and register and gate ``<data.name>-churn-model`` (and
    ``-value-model`` when the data has a value column); progress and decisions in ``lang``."""
    cfg = cfg or TrainingConfig()
    job = job or SnapshotJobConfig()
    console = Console(stderr=True, quiet=not progress)
    loading = note("status_loading", what=what).text(lang)
    status = console.status(loading) if progress else nullcontext()
    with status as st:

        def say(msg: Note) -> None:
            if st is not None:
                st.update(msg.text(lang))

        t0 = time.perf_counter()
        data, rules = (load, no_rules) if isinstance(load, SnapshotData) else load()
        say(note("status_customers", n=len(data.frame)))
        fitted = fit_snapshot(data, rules, cfg, job)
        t1 = time.perf_counter()
        uri = resolve_uri(tracking_uri)
        say(note("status_mlflow", uri=uri))
        result = _log(data, fitted, cfg, job, uri, register, say)
        timings = {"models": t1 - t0, "mlflow": time.perf_counter() - t1}
    for d in result.decisions.values():
        console.print(d.line(lang))
    return replace(result, timings=timings)


def _log(
    data: SnapshotData,
    fitted: SnapshotFit,
    cfg: TrainingConfig,
    job: SnapshotJobConfig,
    uri: str,
    register: bool,
    say: Callable[[Note], None],
) -> SnapshotTrainResult:
    experiment, churn_name, value_name = job.names(data.name)
    client = client_for(uri)
    versions: dict[str, str] = {}
    decisions: dict[str, Decision] = {}
    with using_store(uri):
        exp_id = ensure_experiment(client, experiment, uri)
        with mlflow.start_run(experiment_id=exp_id, run_name=f"snapshot {data.name}") as run:
            run_id = run.info.run_id
            _log_run(data, fitted, cfg, job)
            if not register:
                log_evaluation_metrics(fitted.evaluation.churn, fitted.evaluation.value)
                return SnapshotTrainResult(data.name, fitted, run_id, uri, {}, {}, {})
            say(note("status_registering"))
            bundles = {churn_name: fitted.churn}
            if fitted.value is not None:
                bundles[value_name] = fitted.value
            example = fitted.holdout.head(200)
            logged = {**bundles, churn_name: fitted.registered or fitted.churn}
            for model, bundle in logged.items():
                tagged = replace(bundle, metadata={**bundle.metadata, "run_id": run_id})
                _, versions[model] = log_bundle(tagged, example, model)
                client.set_model_version_tag(model, versions[model], "run_id", run_id)
                client.set_model_version_tag(model, versions[model], "data_set", data.name)
            log_evaluation_metrics(fitted.evaluation.churn, fitted.evaluation.value)
            say(note("status_gate"))
            pair = {model: (versions[model], bundle) for model, bundle in bundles.items()}
            decisions = gate(client, uri, pair, fitted.holdout, cfg, HORIZON_DAYS)
            for model, d in decisions.items():
                mlflow.set_tag(f"gate.{model}", f"v{d.version} -> {d.outcome}")
                mlflow.set_tag(f"gate.{model}.reason", d.reason[:5000])
                mlflow.log_dict(d.to_dict(), f"promotion/{model}.json")
    return SnapshotTrainResult(data.name, fitted, run_id, uri, versions, decisions, {})


def _log_run(
    data: SnapshotData, fitted: SnapshotFit, cfg: TrainingConfig, job: SnapshotJobConfig
) -> None:
    """Parameters, holdout metrics of models and baselines, configs, features, notes, plots."""
    ev = fitted.evaluation
    mlflow.log_params(
        {
            **flat_params("training", cfg.model_dump(mode="json")),
            **flat_params("snapshot", job.model_dump(mode="json")),
            **{f"rows.{k}": str(v) for k, v in fitted.rows.items()},
            "contact_cost_column": str(data.spec.cost if data.spec else None),
            "churn.best_iteration": str(fitted.churn.metadata.get("best_iteration")),
        }
    )
    mlflow.set_tags(
        {
            "mode": "snapshot",
            "data_set": data.name,
            "label_definition": f"{LABEL}: the data set's churn flag (snapshot)",
        }
    )
    mlflow.log_dict(
        {"training": cfg.model_dump(mode="json"), "snapshot": job.model_dump(mode="json")},
        "config.yaml",
    )
    mlflow.log_dict(
        {
            "features": list(fitted.churn.feature_names),
            "categories": {k: list(v) for k, v in fitted.churn.categories.items()},
            "notes": [str(n) for n in data.notes],
            "source_columns": data.source_columns,
            "contact_cost": fitted.churn.metadata.get("contact_cost"),
            "import": {
                "read": data.report.read,
                "accepted": data.report.accepted,
                "rejected": data.report.rejected,
            },
        },
        "features.json",
    )
    mlflow.log_text(to_csv_text(ev.table("churn"), index=True), "metrics/churn.csv")
    if ev.value:
        mlflow.log_text(to_csv_text(ev.table("value"), index=True), "metrics/value.csv")
    ct = ev.churn_test
    y = ct[LABEL].to_numpy(np.float64)
    probs = {MODEL: ct["p_churn"].to_numpy()}
    probs.update({c.removeprefix("p_"): ct[c].to_numpy() for c in ct if c.startswith("p_")})
    probs.pop("churn", None)
    figures = {
        "plots/churn_feature_importance.png": plots.feature_importance(fitted.churn),
        "plots/churn_calibration.png": plots.calibration_curve(y, probs, cfg.calibration_bins),
        "plots/churn_gains_lift.png": plots.gains_chart(y, probs),
    }
    for artifact, fig in figures.items():
        mlflow.log_figure(fig, artifact)
