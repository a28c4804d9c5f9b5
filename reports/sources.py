"""Where explanations get their model and rows: the champion bundles from the registry, and the
customers' feature rows either from the batch-scoring store (exactly what was scored) or built
from a data folder at an as-of date."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from core.bundle import BundleError
from core.lang import Lang
from features.loaders import load_dataset
from features.pipeline.lifecycle import STATUSES
from reports.explain_global import ExplainError
from reports.i18n import tr
from scoring.batch.job import parse_asof, score_customers
from scoring.champions import Champions, load_champions
from scoring.config import ServingConfig
from scoring.store.predictions import AtRiskQuery, PredictionStore


@dataclass(frozen=True)
class ScoredRows:
    """Feature rows and ranked predictions of one as-of date, and where they came from."""

    asof: str
    features: pd.DataFrame  # customer_id, account_manager_id and every model feature
    predictions: pd.DataFrame  # rank, customer_id, ..., churn_probability, predicted_value, ...
    source: str
    scored_by: str | None = None  # churn model version that scored the stored rows


def champions_for(cfg: ServingConfig) -> Champions:
    """The churn and value bundles that carry the configured alias (``champion``)."""
    try:
        return load_champions(cfg.models, cfg.resolved_tracking_uri())
    except BundleError as exc:
        raise ExplainError(f"no model to explain with: {exc}") from exc


def rows_from_data(
    data: str | Path, asof: str | None, champions: Champions, cfg: ServingConfig
) -> ScoredRows:
    """Build and score the features of every customer active at ``asof`` (default: the data's
    as-of date) from a data folder, as batch scoring does; nothing is written."""
    ds = load_dataset(data)
    when = parse_asof(asof) if asof else ds.as_of.normalize()
    batch = score_customers(ds, when, champions, cfg)
    return ScoredRows(batch.asof_text, batch.features, batch.predictions, f"data folder {data}")


def stored_predictions(cfg: ServingConfig, asof: str | None) -> ScoredRows:
    """The ranked predictions of every customer of the scoring run at ``asof`` (default: the
    latest); no feature rows."""
    store = PredictionStore(cfg.resolved_store_url())
    try:
        run = store.run(asof)
        everyone = AtRiskQuery(lifecycle=STATUSES, asof=run.asof, limit=max(run.n_customers, 1))
        predictions = store.at_risk(everyone).rows
    finally:
        store.close()
    return ScoredRows(
        run.asof, pd.DataFrame(), predictions, f"store {store.safe_url}", run.churn_model_version
    )


def rows_from_store(
    cfg: ServingConfig,
    asof: str | None,
    customer_ids: list[str] | None = None,
    sample: int | None = None,
    seed: int = 42,
) -> ScoredRows:
    """Stored feature rows of the scoring run at ``asof`` (default: the latest): of the given
    customers (then no predictions are read), else of a random ``sample`` of all (every one
    when None) with every customer's prediction."""
    if customer_ids is None:
        scored = stored_predictions(cfg, asof)
        ids = sample_ids(scored.predictions, sample, seed)
        return replace(scored, features=features_from_store(cfg, scored.asof, ids))
    store = PredictionStore(cfg.resolved_store_url())
    try:
        run = store.run(asof)
        features = store.features_for(customer_ids, run.asof)[1]
    finally:
        store.close()
    return ScoredRows(
        run.asof, features, pd.DataFrame(), f"store {store.safe_url}", run.churn_model_version
    )


def features_from_store(cfg: ServingConfig, asof: str, customer_ids: list[str]) -> pd.DataFrame:
    """The stored feature rows of these customers at the scoring date ``asof``."""
    store = PredictionStore(cfg.resolved_store_url())
    try:
        return store.features_for(customer_ids, asof)[1]
    finally:
        store.close()


def sample_ids(predictions: pd.DataFrame, sample: int | None, seed: int = 42) -> list[str]:
    """A random ``sample`` of the scored customer ids (all of them when None or larger)."""
    ids = predictions["customer_id"].astype(str).to_numpy()
    if sample is not None and sample < len(ids):
        ids = np.random.default_rng(seed).choice(ids, sample, replace=False)
    return list(ids)


def version_note(rows: ScoredRows, champions: Champions, lang: Lang = "en") -> str | None:
    """A warning (in ``lang``) when the stored scores came from another churn model version
    than the one explaining them."""
    if rows.scored_by is None or rows.scored_by == champions.churn_version:
        return None
    note = tr("note_version", lang)
    return note.format(asof=rows.asof, scored_by=rows.scored_by, champion=champions.churn_version)
