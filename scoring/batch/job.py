"""Batch scoring: every customer active at an as-of date -> features, predictions, the store and
the at-risk CSV (``churn score``).

Features are built with the feature configuration the champion was trained with (recorded in its
metadata), so batch and API rows are encoded exactly like the training rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from core.bundle import BundleError
from core.economics import SegmentedEconomics
from core.errors import ChurnError
from core.paths import home, replacing
from features.dataset import Dataset
from features.pipeline.build import build_features
from features.pipeline.lifecycle import lifecycle_at
from scoring.benefit import contact_benefit
from scoring.champions import Champions, load_champions
from scoring.config import ServingConfig
from scoring.frame import score_frame
from scoring.lists import AT_RISK, WIN_BACK, present, recommended_actions, split_lists
from scoring.reasons import NO_RISK_REASON, risk_reasons
from scoring.store.predictions import KEY_COLUMNS, PredictionStore, ScoringRun


class BatchError(ChurnError):
    """Batch scoring cannot run (bad date, data that lacks what the models need)."""


@dataclass(frozen=True)
class ScoredBatch:
    """The feature rows and the ranked predictions of one as-of date."""

    asof: pd.Timestamp
    features: pd.DataFrame
    predictions: pd.DataFrame  # every scored customer, highest expected value at risk first
    champions: Champions
    horizon_days: int
    reasons: int

    def lists(self) -> dict[str, pd.DataFrame]:
        """The at-risk and win-back lists as people read them (:func:`scoring.lists.present`)."""
        return {
            name: present(rows, self.horizon_days, self.reasons)
            for name, rows in split_lists(self.predictions).items()
        }

    @property
    def asof_text(self) -> str:
        return f"{self.asof:%Y-%m-%d}"


@dataclass(frozen=True)
class BatchResult:
    """What ``churn score`` did."""

    batch: ScoredBatch
    run: ScoringRun
    store: str
    csv: Path
    win_back_csv: Path


def parse_asof(asof: str) -> pd.Timestamp:
    """``YYYY-MM-DD`` as a midnight timestamp; BatchError otherwise."""
    try:
        ts = pd.Timestamp(datetime.strptime(asof, "%Y-%m-%d"))
    except (TypeError, ValueError) as exc:
        raise BatchError(f"as-of date {asof!r} is not a date in the form YYYY-MM-DD") from exc
    return ts


def score_customers(
    ds: Dataset,
    asof: pd.Timestamp,
    champions: Champions,
    cfg: ServingConfig,
    economics: SegmentedEconomics | None = None,
    uplift: pd.Series | None = None,
) -> ScoredBatch:
    """Build the as-of date's features for every active customer and score them (pure).

    ``economics`` (the campaign's costs and success rates; default: the defaults) and ``uplift``
    (each customer's estimated effect of a contact, by id) price the benefit of a contact, the
    at-risk list's order (:func:`scoring.benefit.contact_benefit`)."""
    features = build_features(ds, asof, champions.feature_config(), labels=False)
    try:
        champions.churn.check_columns(features)
        champions.value.check_columns(features)
    except BundleError as exc:
        raise BatchError(
            f"the data cannot feed the champion models: {exc}; was a table or column the "
            "models were trained with left out of this data set?"
        ) from exc
    feature_cfg = champions.feature_config()
    scores = score_frame(features, champions, cfg.risk_bands)
    keys = features.reindex(columns=[*KEY_COLUMNS, "plan"]).astype(object)
    keys = keys.where(keys.notna(), None)
    ids = features["customer_id"].astype(str).to_numpy()
    stage = lifecycle_at(ds, asof, feature_cfg, cfg.lists.lifecycle).reindex(ids)
    stage.index = features.index
    reasons = risk_reasons(features, champions.churn, cfg.lists.reasons, "en")
    predictions = pd.concat([keys, stage, scores], axis=1).assign(
        asof=f"{asof:%Y-%m-%d}",
        reasons=[
            json.dumps([r.sentence for r in row] or [NO_RISK_REASON["en"]], ensure_ascii=False)
            for row in reasons
        ],
        **champions.versions,
    )
    signals = predictions.assign(complaint_open_total=features.get("complaint_open_total"))
    predictions["recommended_action"] = recommended_actions(signals, asof, cfg.lists.actions)
    predictions["benefit"] = contact_benefit(predictions, economics, uplift)
    if "complaint_open_total" in features:
        opened = pd.to_numeric(features["complaint_open_total"], errors="coerce")
        predictions["open_complaints"] = opened.round().astype("Int64").to_numpy()
    predictions = predictions.sort_values(
        ["expected_value_at_risk", "customer_id"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)
    predictions["rank"] = range(1, len(predictions) + 1)
    return ScoredBatch(
        asof,
        features,
        predictions,
        champions,
        feature_cfg.labels.horizon_days,
        cfg.lists.reasons,
    )


def save_batch(
    store: PredictionStore, batch: ScoredBatch, cfg: ServingConfig, source: str
) -> ScoringRun:
    """Write the batch's feature rows and predictions to the store (replacing that as-of date)."""
    champions = batch.champions
    run = ScoringRun(
        asof=batch.asof_text,
        scored_at=datetime.now(UTC).replace(tzinfo=None),
        n_customers=len(batch.predictions),
        churn_model=cfg.models.churn,
        churn_model_version=champions.churn_version,
        value_model=cfg.models.value,
        value_model_version=champions.value_version,
        feature_names=champions.feature_names,
        source=source,
        horizon_days=batch.horizon_days,
    )
    categorical = [f for f in champions.feature_names if f in champions.categories]
    store.write_scores(run, batch.features, categorical, batch.predictions)
    return run


def write_list_csv(rows: pd.DataFrame, path: str | Path) -> Path:
    """One list as CSV (UTF-8, the columns of :func:`scoring.lists.list_columns`), replacing the
    file whole: a crash while writing leaves the previous list, never a truncated one."""
    with replacing(path) as tmp:
        rows.to_csv(tmp, index=False, encoding="utf-8")
    return Path(path)


def run_batch(
    ds: Dataset,
    asof: pd.Timestamp,
    cfg: ServingConfig,
    source: str,
    out: str | Path | None = None,
    win_back_out: str | Path | None = None,
    say: Callable[[str], None] | None = None,
    economics: SegmentedEconomics | None = None,
    uplift: pd.Series | None = None,
) -> BatchResult:
    """Load the champions, score the data set at ``asof``, write the store and both lists
    (``source`` names the data folder in the store, for scorecards that read it again;
    ``economics`` and ``uplift`` as :func:`score_customers` takes them)."""
    step = say or (lambda _msg: None)
    step("loading the champion models")
    try:
        champions = load_champions(cfg.models, cfg.resolved_tracking_uri())
    except BundleError as exc:
        raise BatchError(str(exc)) from exc
    step(f"building features and scoring customers active at {asof:%Y-%m-%d}")
    batch = score_customers(ds, asof, champions, cfg, economics, uplift)
    step("writing the store")
    store = PredictionStore(cfg.resolved_store_url())
    try:
        run = save_batch(store, batch, cfg, source=source)
    finally:
        store.close()
    lists = batch.lists()
    at_risk = out or home() / "at_risk" / f"at_risk_{batch.asof_text}.csv"
    win_back = win_back_out or home() / "win_back" / f"win_back_{batch.asof_text}.csv"
    return BatchResult(
        batch,
        run,
        store.safe_url,
        write_list_csv(lists[AT_RISK], at_risk),
        write_list_csv(lists[WIN_BACK], win_back),
    )
