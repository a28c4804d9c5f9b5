"""The monitoring job (``churn monitor``): score the as-of population with the champion, compare
it with the reference, estimate its performance, measure the matured scorings, raise alerts.

The result is one JSON document; :func:`write_result` writes it where asked and as
``$CHURN_HOME/monitoring/latest.json``, the file the service's ``/metrics`` reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.bundle import BundleError, ModelBundle
from core.paths import replacing
from core.registry import load_registered_bundle
from features.config import FeatureConfig
from features.dataset import Dataset
from features.pipeline.build import FeaturePlan, features_at, plan_features
from features.pipeline.cutoffs import FeatureError
from features.pipeline.lifecycle import lifecycle_at
from monitoring import cbpe
from monitoring.alerts import alert_items
from monitoring.config import LATEST as LATEST  # where it was; the service imports config
from monitoring.config import MonitorConfig, MonitorError, latest_path
from monitoring.drift import JS, Drift, feature_drift, js_distance
from monitoring.realized import (
    api_scorings,
    labels_at,
    matured_scorings,
    realized_performance,
)
from scoring.config import ServingConfig
from scoring.store.predictions import PredictionStore

PREDICTION = "churn_probability"
MISSING = "(missing)"


def parse_date(text: str, what: str) -> pd.Timestamp:
    """``YYYY-MM-DD`` as a midnight timestamp; MonitorError naming the option otherwise."""
    try:
        return pd.Timestamp(datetime.strptime(text, "%Y-%m-%d"))
    except (TypeError, ValueError):
        raise MonitorError(f"{what} {text!r} is not a date in the form YYYY-MM-DD") from None


def training_cutoffs(bundle: ModelBundle) -> list[pd.Timestamp]:
    """The champion's training cutoffs from its metadata (empty when not recorded)."""
    window = bundle.metadata.get("training_window") or {}
    text = str(window.get("train_cutoffs") or "")
    return [pd.Timestamp(t.strip()) for t in text.split(",") if t.strip()]


def shares(values: pd.Series) -> dict[str, float]:
    """Share of each value (missing counted as ``(missing)``), largest first."""
    text = values.astype(object).where(values.notna(), MISSING).astype(str)
    return {k: round(float(v), 6) for k, v in text.value_counts(normalize=True).items()}


def _share_changes(reference: dict[str, float], current: dict[str, float]) -> dict[str, dict]:
    return {
        k: {
            "reference": reference.get(k, 0.0),
            "current": current.get(k, 0.0),
            "change": round(current.get(k, 0.0) - reference.get(k, 0.0), 6),
        }
        for k in sorted(set(reference) | set(current))
    }


def _lifecycle(ds: Dataset, frame: pd.DataFrame, cutoff: pd.Timestamp, fcfg, lcfg) -> pd.Series:
    stage = lifecycle_at(ds, cutoff, fcfg, lcfg)["lifecycle_status"]
    return stage.reindex(frame["customer_id"].astype(str).to_numpy())


def population_change(
    ds: Dataset,
    reference: Sequence[pd.DataFrame],
    current: pd.DataFrame,
    cutoffs: Sequence[pd.Timestamp],
    asof: pd.Timestamp,
    fcfg: FeatureConfig,
    serving: ServingConfig,
) -> dict[str, Any]:
    """Size, segment mix and lifecycle mix of the scored population against the reference."""
    lcfg = serving.lists.lifecycle
    ref_all = pd.concat(reference, ignore_index=True)
    ref_stage = pd.concat(
        [_lifecycle(ds, f, c, fcfg, lcfg) for f, c in zip(reference, cutoffs, strict=True)]
    )
    ref_size = float(np.mean([len(f) for f in reference]))
    segment = "segment" in current.columns
    return {
        "reference_size": round(ref_size, 1),
        "current_size": len(current),
        "size_change": round(len(current) / ref_size - 1, 6) if ref_size else None,
        "segments": _share_changes(shares(ref_all["segment"]), shares(current["segment"]))
        if segment
        else {},
        "lifecycle": _share_changes(
            shares(ref_stage), shares(_lifecycle(ds, current, asof, fcfg, lcfg))
        ),
    }


def campaign_capacity(current: pd.DataFrame, cfg: MonitorConfig, per_manager: int) -> int:
    """Contacts of the campaign: the configured number, else ``per_manager`` per manager."""
    if cfg.capacity is not None:
        return cfg.capacity
    managers = current["account_manager_id"].dropna().nunique() if len(current) else 0
    return max(1, per_manager * max(int(managers), 1))


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _features(plan: FeaturePlan, cutoff: pd.Timestamp) -> pd.DataFrame:
    try:
        return features_at(plan, cutoff, labels=False)
    except FeatureError as exc:
        raise MonitorError(f"features as of {cutoff:%Y-%m-%d}: {exc}") from exc


def run_monitor(
    ds: Dataset,
    asof: pd.Timestamp,
    serving: ServingConfig,
    cfg: MonitorConfig,
    *,
    reference: pd.Timestamp | None = None,
    capacity_per_manager: int = 20,
    say: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The monitoring result of ``asof`` as a JSON-ready dict (see docs/monitoring.md)."""
    step = say or (lambda _msg: None)
    if asof > ds.as_of:
        raise MonitorError(
            f"--asof {asof:%Y-%m-%d} is after the data's as-of date {ds.as_of:%Y-%m-%d}"
        )
    step("loading the champion churn model")
    refs = serving.models
    try:
        bundle, version = load_registered_bundle(
            refs.churn, refs.alias, serving.resolved_tracking_uri()
        )
    except BundleError as exc:
        raise MonitorError(str(exc)) from exc
    recorded = bundle.metadata.get("feature_config")
    fcfg = FeatureConfig.model_validate(recorded) if recorded else FeatureConfig()
    cutoffs = [reference] if reference is not None else training_cutoffs(bundle)
    if not cutoffs:
        raise MonitorError(
            f"{refs.churn} v{version} records no training cutoffs: pass --reference YYYY-MM-DD"
        )
    late = [c for c in cutoffs if c > asof]
    if late:
        raise MonitorError(f"reference date {late[0]:%Y-%m-%d} is after --asof {asof:%Y-%m-%d}")

    cut = replace(ds, as_of=asof)  # no outcome after the monitoring date is read
    plan = plan_features(cut, fcfg)
    step(f"building features at {len(cutoffs)} reference cutoffs and at {asof:%Y-%m-%d}")
    ref_frames = [_features(plan, c) for c in cutoffs]
    current = _features(plan, asof)
    ref_all = pd.concat(ref_frames, ignore_index=True)
    try:
        bundle.check_columns(current)
    except BundleError as exc:
        raise MonitorError(f"the data cannot feed {refs.churn} v{version}: {exc}") from exc

    step("scoring and measuring drift")
    p_ref, p_cur = bundle.predict(ref_all), bundle.predict(current)
    features = feature_drift(
        ref_all,
        current,
        bundle.feature_names,
        bundle.categorical_features,
        cfg.bins,
        cfg.numeric_threshold,
        cfg.categorical_threshold,
    )
    prediction = Drift(
        PREDICTION, JS, js_distance(p_ref, p_cur, cfg.bins), cfg.prediction_threshold
    )
    population = population_change(ds, ref_frames, current, cutoffs, asof, fcfg, serving)
    capacity = campaign_capacity(current, cfg, capacity_per_manager)
    estimated = cbpe.estimate(p_cur, capacity).as_dict()

    step("joining the matured scorings with what happened")
    store = PredictionStore(serving.resolved_store_url())
    try:
        scorings = matured_scorings(store, asof)
        scorings += api_scorings(store, asof, fcfg.labels.horizon_days)
    finally:
        store.close()
    realized = [
        realized_performance(
            s,
            labels_at(plan, s.asof, s.horizon_days),
            campaign_capacity(s.predictions, cfg, capacity_per_manager),
        )
        for s in scorings
    ]
    test_auc = (bundle.metadata.get("test_metrics") or {}).get("roc_auc")
    test_auc = None if test_auc is None else float(test_auc)
    items = alert_items(features, prediction, population, estimated, realized, test_auc, cfg)
    alerts = [a.text("en") for a in items]
    return {
        "asof": f"{asof:%Y-%m-%d}",
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "model": {"name": refs.churn, "version": version, "test_roc_auc": test_auc},
        "reference": {
            "cutoffs": [f"{c:%Y-%m-%d}" for c in cutoffs],
            "source": "--reference" if reference is not None else "champion training cutoffs",
            "n": len(ref_all),
        },
        "features": [d.as_dict() for d in features],
        "prediction_drift": prediction.as_dict(),
        "population": population,
        "estimated": estimated,
        "realized": realized,
        "alerts": alerts,
        "alert_items": [a.as_dict() for a in items],
        "thresholds": cfg.model_dump(mode="json"),
    }


def write_result(result: dict[str, Any], out: Path | None) -> list[Path]:
    """Write the result to ``out`` (when given) and to :func:`latest_path`; the paths written."""
    text = json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    written = []
    for path in (out, latest_path()):
        if path is None:
            continue
        with replacing(path) as tmp:  # readers (the service's /metrics) never see half a file
            tmp.write_text(text, encoding="utf-8")
        written.append(path)
    return written
