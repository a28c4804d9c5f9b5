"""Batch scoring: every customer active at an as-of date -> features, predictions, the store and
the at-risk CSV (``churn score``).

Features are built with the feature configuration the champion was trained with (recorded in its
metadata), so batch and API rows are encoded exactly like the training rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from core.bundle import BundleError
from core.csv_out import write_csv
from core.economics import SegmentedEconomics
from core.lang import Lang
from core.money import money_pattern
from core.paths import home, replacing
from core.phases import Phases
from features.config import FeatureConfig
from features.dataset import Dataset
from features.pipeline.build import build_features
from features.pipeline.lifecycle import lifecycle_at
from features.pipeline.segments import frame_segments
from scoring.batch.asof import BatchError
from scoring.batch.asof import parse_asof as parse_asof  # re-exported: its old home
from scoring.benefit import contact_benefit, horizon_value
from scoring.champions import Champions, load_champions
from scoring.compiled import PROBE_ROWS, compiled_booster
from scoring.config import ServingConfig
from scoring.contacted import contact_details, last_contacts, with_contacts
from scoring.frame import Raw, score_frame
from scoring.lists import (
    AT_RISK,
    WIN_BACK,
    named_values,
    present,
    recommended_actions,
    split_lists,
)
from scoring.reasons import risk_reason_json
from scoring.store.predictions import KEY_COLUMNS, PredictionStore, ScoringRun

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prebuilt:
    """Features and lifecycle stages built before the champions arrived, with the feature
    configuration they were built with: used only when it is the champion's."""

    config: FeatureConfig
    features: pd.DataFrame
    stage: pd.DataFrame


def prebuild(
    ds: Dataset, asof: pd.Timestamp, config: FeatureConfig, cfg: ServingConfig, phases: Phases
) -> Prebuilt:
    """:func:`score_customers`' features and lifecycle steps under ``config``, to run while the
    champions are fetched on the other core."""
    with phases.timed("features"):
        features = build_features(ds, asof, config, labels=False)
    with phases.timed("lifecycle"):
        stage = lifecycle_at(ds, asof, config, cfg.lists.lifecycle)
    return Prebuilt(config, features, stage)


def compiled_models(
    champions: Champions, cfg: ServingConfig, features: pd.DataFrame
) -> tuple[Raw | None, Raw | None]:
    """Both champions' compiled trees where they are available and agree with LightGBM
    (:mod:`scoring.compiled`), checked on the first rows of ``features``; None: LightGBM."""
    out: list[Raw | None] = []
    for bundle, name, version in (
        (champions.churn, cfg.models.churn, champions.churn_version),
        (champions.value, cfg.models.value, champions.value_version),
    ):
        probe = bundle.encoded(features.head(PROBE_ROWS))
        model = compiled_booster(bundle.booster, name, version, probe)
        out.append(model.predict if model else None)
    return out[0], out[1]


def churn_contributions(champions: Champions, features: pd.DataFrame) -> np.ndarray:
    """TreeSHAP contributions of the churn model on ``features`` (rows x features + bias), with
    the exact compiled kernel (LightGBM's ``pred_contrib`` for models it does not support)."""
    from scoring.treeshap.kernel import FastExplainer  # numba: imported only when scoring

    churn = champions.churn
    return FastExplainer(churn).values(churn.encoded(features))


@dataclass(frozen=True)
class ScoredBatch:
    """The feature rows and the ranked predictions of one as-of date."""

    asof: pd.Timestamp
    features: pd.DataFrame
    predictions: pd.DataFrame  # every scored customer, highest expected value at risk first
    champions: Champions
    horizon_days: int
    reasons: int

    def lists(
        self,
        lang: Lang = "en",
        currency: str | None = None,
        ds: Dataset | None = None,
        skip_contacted_days: int = 0,
    ) -> dict[str, pd.DataFrame]:
        """The at-risk and win-back lists as people read them (:func:`scoring.lists.present`;
        the reasons and the why-listed line in ``lang``, its amounts in ``currency``); with the data set ``ds``, each row
        says how to reach the customer and how many days ago they were last contacted, and
        customers contacted within ``skip_contacted_days`` days are left out
        (:func:`scoring.contacted.with_contacts`)."""
        money = money_pattern(currency)
        out = {
            name: present(rows, self.horizon_days, self.reasons, lang, money)
            for name, rows in split_lists(self.predictions).items()
        }
        if ds is None:
            return out
        last = last_contacts(ds.tables.get("contacts"))
        details = contact_details(ds.tables["customers"])
        return {
            name: with_contacts(rows, self.asof, last, details, skip_contacted_days)
            for name, rows in out.items()
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
    lists: dict[str, pd.DataFrame]
    """Both lists as written (reasons and why-listed line in the language asked)."""


def score_customers(
    ds: Dataset,
    asof: pd.Timestamp,
    champions: Champions,
    cfg: ServingConfig,
    phases: Phases | None = None,
    *,
    economics: SegmentedEconomics | None = None,
    uplift: pd.Series | None = None,
    prebuilt: Prebuilt | None = None,
) -> ScoredBatch:
    """Build the as-of date's features for every active customer and score them (pure);
    ``phases`` records the time of each step; ``prebuilt`` features and stages are used when
    built with the champion's feature configuration.

    ``economics`` (the campaign's costs and success rates; default: the defaults) and ``uplift``
    (each customer's estimated effect of a contact, by id) price the benefit of a contact, the
    at-risk list's order (:func:`scoring.benefit.contact_benefit`)."""
    timed = (phases or Phases()).timed
    feature_cfg = champions.feature_config()
    if prebuilt is not None and prebuilt.config != feature_cfg:
        log.info("features built again: the champion was trained with other feature settings")
        prebuilt = None
    if prebuilt is not None:
        features = prebuilt.features
    else:
        with timed("features"):
            features = build_features(ds, asof, feature_cfg, labels=False)
    try:
        champions.churn.check_columns(features)
        champions.value.check_columns(features)
    except BundleError as exc:
        raise BatchError(
            f"the data cannot feed the champion models: {exc}; was a table or column the "
            "models were trained with left out of this data set?"
        ) from exc
    with timed("models"):
        raw = compiled_models(champions, cfg, features) if cfg.compiled_trees else (None, None)
        scores = score_frame(features, champions, cfg.risk_bands, *raw)
    keys = features.reindex(columns=[*KEY_COLUMNS, "plan"]).astype(object)
    keys = keys.where(keys.notna(), None)
    ids = features["customer_id"].astype(str).to_numpy()
    if prebuilt is not None:
        stage = prebuilt.stage.reindex(ids)
    else:
        with timed("lifecycle"):
            stage = lifecycle_at(ds, asof, feature_cfg, cfg.lists.lifecycle).reindex(ids)
    stage.index = features.index
    with timed("reasons"):
        contributions = churn_contributions(champions, features)
        reasons = risk_reason_json(features, champions.churn, cfg.lists.reasons, contributions)
    with timed("ranking"):
        predictions = pd.concat([keys, stage, scores], axis=1).assign(
            asof=f"{asof:%Y-%m-%d}", reasons=reasons, **champions.versions
        )
        predictions["rfm_segment"] = frame_segments(
            features, feature_cfg.windows_days, cfg.lists.rfm_segments
        )
        predictions["rfm_score"] = features.get("rfm_score")
        value = horizon_value(features, feature_cfg.labels.horizon_days)
        predictions["benefit"] = contact_benefit(predictions, economics, uplift, value)
        predictions["benefit_value"] = np.where(
            np.isnan(value), predictions["predicted_value"].to_numpy(float), value
        )
        signals = predictions.assign(complaint_open_total=features.get("complaint_open_total"))
        predictions["recommended_action"] = recommended_actions(signals, asof, cfg.lists.actions)
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
        write_csv(rows, tmp)
    return Path(path)


def run_batch(
    ds: Dataset,
    asof: pd.Timestamp,
    cfg: ServingConfig,
    source: str,
    out: str | Path | None = None,
    win_back_out: str | Path | None = None,
    say: Callable[[str], None] | None = None,
    phases: Phases | None = None,
    economics: SegmentedEconomics | None = None,
    uplift: pd.Series | None = None,
    skip_contacted_days: int = 0,
    lang: Lang = "en",
    fetched: Callable[[], Champions | None] | None = None,
    expected: FeatureConfig | None = None,
) -> BatchResult:
    """Load the champions (``fetched``'s, when it gives them: see :func:`scoring.prefetch.fetching`),
    score the data set at ``asof``, write the store and both lists, for
    people reading ``lang`` (reasons, why-listed line, band, lifecycle and action; the columns
    keep their English names; ``source`` names the data folder in the store, for scorecards
    that read it again);
    ``phases`` records the time of each step; ``economics`` and ``uplift`` price the benefit of a
    contact (:func:`score_customers`); the lists leave out customers contacted within
    ``skip_contacted_days`` days. With ``fetched`` and the ``expected`` feature configuration,
    features and lifecycle stages are built while the champions are fetched."""
    phases = phases or Phases()
    step = say or (lambda _msg: None)
    prebuilt = None
    if fetched is not None and expected is not None:
        step(f"building features of customers active at {asof:%Y-%m-%d}")
        prebuilt = prebuild(ds, asof, expected, cfg, phases)
    step("loading the champion models")
    with phases.timed("champions"):
        try:
            champions = (fetched and fetched()) or load_champions(
                cfg.models, cfg.resolved_tracking_uri()
            )
        except BundleError as exc:
            raise BatchError(str(exc)) from exc
    step(f"building features and scoring customers active at {asof:%Y-%m-%d}")
    batch = score_customers(
        ds, asof, champions, cfg, phases, economics=economics, uplift=uplift, prebuilt=prebuilt
    )
    step("writing the store")
    with phases.timed("store"):
        store = PredictionStore(cfg.resolved_store_url())
        try:
            run = save_batch(store, batch, cfg, source=source)
        finally:
            store.close()
    with phases.timed("lists"):
        lists = batch.lists(lang, cfg.currency, ds, skip_contacted_days)
        at_risk = out or home() / "at_risk" / f"at_risk_{batch.asof_text}.csv"
        win_back = win_back_out or home() / "win_back" / f"win_back_{batch.asof_text}.csv"
        csv, win_back_csv = (
            write_list_csv(named_values(lists[AT_RISK], lang), at_risk),
            write_list_csv(named_values(lists[WIN_BACK], lang), win_back),
        )
    return BatchResult(batch, run, store.safe_url, csv, win_back_csv, lists)
