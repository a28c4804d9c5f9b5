"""Batch scoring: every customer active at an as-of date -> features, predictions, the store and
the at-risk CSV (``churn score``).

Features are built with the feature configuration the champion was trained with (recorded in its
metadata), so batch and API rows are encoded exactly like the training rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from core.bundle import BundleError
from core.errors import ChurnError
from core.paths import home
from features.dataset import Dataset
from features.loaders import load_dataset
from features.pipeline.build import build_features
from serving.batch.store import KEY_COLUMNS, PredictionStore, ScoringRun
from serving.champions import Champions, load_champions
from serving.config import ServingConfig
from serving.scoring import SCORE_COLUMNS, score_frame

AT_RISK_COLUMNS = (
    "rank",
    "asof",
    *KEY_COLUMNS,
    *SCORE_COLUMNS,
    "churn_model_version",
    "value_model_version",
)


class BatchError(ChurnError):
    """Batch scoring cannot run (bad date, data that lacks what the models need)."""


@dataclass(frozen=True)
class ScoredBatch:
    """The feature rows and the ranked predictions of one as-of date."""

    asof: pd.Timestamp
    features: pd.DataFrame
    predictions: pd.DataFrame  # AT_RISK_COLUMNS, highest expected value at risk first
    champions: Champions

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


def parse_asof(asof: str) -> pd.Timestamp:
    """``YYYY-MM-DD`` as a midnight timestamp; BatchError otherwise."""
    try:
        ts = pd.Timestamp(datetime.strptime(asof, "%Y-%m-%d"))
    except (TypeError, ValueError) as exc:
        raise BatchError(f"as-of date {asof!r} is not a date in the form YYYY-MM-DD") from exc
    return ts


def score_customers(
    ds: Dataset, asof: pd.Timestamp, champions: Champions, cfg: ServingConfig
) -> ScoredBatch:
    """Build the as-of date's features for every active customer and score them (pure)."""
    features = build_features(ds, asof, champions.feature_config(), labels=False)
    try:
        champions.churn.check_columns(features)
        champions.value.check_columns(features)
    except BundleError as exc:
        raise BatchError(
            f"the data cannot feed the champion models: {exc}; was a table or column the "
            "models were trained with left out of this data set?"
        ) from exc
    scores = score_frame(features, champions, cfg.risk_bands)
    keys = features.reindex(columns=list(KEY_COLUMNS)).astype(object)
    keys = keys.where(keys.notna(), None)
    predictions = pd.concat([keys, scores], axis=1).assign(
        asof=f"{asof:%Y-%m-%d}", **champions.versions
    )
    predictions = predictions.sort_values(
        ["expected_value_at_risk", "customer_id"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)
    predictions["rank"] = range(1, len(predictions) + 1)
    return ScoredBatch(asof, features, predictions[list(AT_RISK_COLUMNS)], champions)


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
    )
    categorical = [f for f in champions.feature_names if f in champions.categories]
    store.write_scores(run, batch.features, categorical, batch.predictions)
    return run


def write_at_risk_csv(batch: ScoredBatch, path: str | Path) -> Path:
    """The ranked at-risk list as CSV (UTF-8, one row per active customer)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    batch.predictions.to_csv(out, index=False, encoding="utf-8")
    return out


def run_batch(
    data: str | Path,
    asof: str,
    cfg: ServingConfig,
    out: str | Path | None = None,
    say: Callable[[str], None] | None = None,
) -> BatchResult:
    """Load the data folder and the champions, score the as-of date, write store and CSV."""
    step = say or (lambda _msg: None)
    when = parse_asof(asof)
    step(f"loading data from {data}")
    ds = load_dataset(data)
    step("loading the champion models")
    try:
        champions = load_champions(cfg.models, cfg.resolved_tracking_uri())
    except BundleError as exc:
        raise BatchError(str(exc)) from exc
    step(f"building features and scoring customers active at {asof}")
    batch = score_customers(ds, when, champions, cfg)
    step("writing the store")
    store = PredictionStore(cfg.resolved_store_url())
    try:
        run = save_batch(store, batch, cfg, source=str(Path(data).resolve()))
    finally:
        store.close()
    csv = write_at_risk_csv(batch, out or home() / "at_risk" / f"at_risk_{batch.asof_text}.csv")
    return BatchResult(batch, run, store.safe_url, csv)
