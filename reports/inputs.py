"""Everything the analysts' HTML report shows, gathered from the registry, the MLflow run of the
champion, the batch-scoring store and (for KPI scorecards) the data folder.

A section whose source is missing is left out with a note saying why; the models and the
store's scoring run are required.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from core.errors import ChurnError
from core.lang import Lang, value_name
from features.loaders import load_dataset
from kpi.config import KpiConfig
from kpi.periods import latest_complete_month
from kpi.rfm import segment_summary
from kpi.scorecard import scorecard
from kpi.trends import Trends, monthly_trends
from reports.explain_global import (
    ExplainError,
    bar_figure,
    beeswarm_figure,
    drivers_by,
    drivers_figure,
    global_explanation,
    importance,
    png_bytes,
)
from reports.explain_local import select_customers
from reports.i18n import cjk_font, plot_language, tr
from reports.sources import (
    ScoredRows,
    champions_for,
    features_from_store,
    sample_ids,
    stored_predictions,
    version_note,
)
from scoring.champions import Champions
from scoring.config import ServingConfig
from scoring.reasons import NO_RISK_REASON, risk_reasons
from scoring.store.plans import PlanStore
from scoring.store.predictions import PredictionStore

if TYPE_CHECKING:
    from matplotlib.figure import Figure

QUALITY_ARTIFACTS = {
    "fig_gains_lift": "plots/churn_gains_lift.png",
    "fig_calibration": "plots/churn_calibration.png",
}
METRICS_ARTIFACT = "metrics/churn.csv"
PLOT_LABELS = (
    "plot_gains",
    "plot_lift",
    "plot_random",
    "plot_share_contacted",
    "plot_share_found",
    "plot_calibration_title",
    "plot_mean_predicted",
    "plot_observed_rate",
    "plot_perfect",
)
"""The catalogue ids of the labels of the training run's quality plots (``training.evaluation.plots``)."""


@dataclass(frozen=True)
class ReportInputs:
    """The report's content; images are PNG bytes keyed by their English caption; ``lang`` is
    the language of the whole report (texts, category values, plots)."""

    asof: str
    models: dict[str, str]
    label_definition: str
    at_risk: pd.DataFrame  # rank, ids, scores and ``reasons`` (list of sentences)
    total_customers: int
    driver_images: dict[str, bytes]
    importance: pd.DataFrame
    explained: int
    metrics: pd.DataFrame | None = None
    quality_images: dict[str, bytes] = field(default_factory=dict)
    scorecard: pd.DataFrame | None = None
    period: str | None = None
    rfm_segments: pd.DataFrame | None = None  # kpi.rfm.segment_summary of the scoring
    plans: pd.DataFrame | None = None  # the month's improvement plans (scoring.store.plans)
    trends: Trends | None = None  # each manager's last 12 months (kpi.trends)
    notes: tuple[str, ...] = ()
    lang: Lang = "en"
    currency: str | None = None
    """The book's currency (``serving.currency``): amounts are written with its sign."""
    generated_at: str = field(
        default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    )


@contextmanager
def _quiet_downloads() -> Iterator[None]:
    """No MLflow download progress bars in the middle of the command's status line."""
    key = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
    before = os.environ.get(key)
    os.environ[key] = "false"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = before


def model_quality(
    champions: Champions, tracking_uri: str, lang: Lang = "en"
) -> tuple[pd.DataFrame | None, dict[str, bytes], list[str]]:
    """The champion's test metrics against the baselines and its gains/lift and calibration
    plots, as logged with its training run (in Chinese drawn again from the run's test
    predictions); notes in ``lang``."""
    import mlflow.artifacts
    from mlflow.exceptions import MlflowException

    run_id = champions.churn.metadata.get("run_id")
    if not run_id:
        return (
            None,
            {},
            [tr("note_no_run", lang)],
        )
    metrics, images, notes = None, {}, []
    with tempfile.TemporaryDirectory() as tmp, _quiet_downloads():
        wanted = {METRICS_ARTIFACT: None, **{v: k for k, v in QUALITY_ARTIFACTS.items()}}
        for artifact, caption in wanted.items():
            try:
                local = mlflow.artifacts.download_artifacts(
                    run_id=run_id, artifact_path=artifact, dst_path=tmp, tracking_uri=tracking_uri
                )
            except (MlflowException, OSError) as exc:
                note = tr("note_no_artifact", lang)
                notes.append(note.format(run_id=run_id, artifact=artifact, error=str(exc)[:200]))
                continue
            if caption is None:
                metrics = pd.read_csv(local, index_col=0)
            else:
                images[caption] = Path(local).read_bytes()
        if lang != "en":
            images.update(_quality_plots_in(lang, run_id, tracking_uri, tmp))
    return metrics, images, notes


def _quality_plots_in(lang: Lang, run_id: str, tracking_uri: str, tmp: str) -> dict[str, bytes]:
    """The gains/lift and calibration plots drawn again in ``lang`` from the run's logged test
    predictions; nothing (the logged English plots stay) for a run that did not log them."""
    import mlflow.artifacts
    from mlflow.exceptions import MlflowException

    from training.job import CHURN_TEST_ARTIFACT

    try:
        local = mlflow.artifacts.download_artifacts(
            run_id=run_id,
            artifact_path=CHURN_TEST_ARTIFACT,
            dst_path=tmp,
            tracking_uri=tracking_uri,
        )
    except (MlflowException, OSError):
        return {}
    with plot_language(lang):
        figures = quality_figures(pd.read_csv(local), lang)
        return {caption: png_bytes(fig) for caption, fig in figures.items()}


def quality_figures(test: pd.DataFrame, lang: Lang) -> dict[str, Figure]:
    """The gains/lift and calibration figures of a run's test predictions (``churned``,
    ``p_churn`` and a ``p_<scorer>`` per baseline), titles, axes and legend in ``lang``; drawn
    inside :func:`reports.i18n.plot_language` for Chinese glyphs."""
    from training.evaluation import plots
    from training.evaluation.compare import MODEL

    y = test["churned"].to_numpy(float)
    probs = {MODEL: test["p_churn"].to_numpy()}
    probs.update(
        {
            c.removeprefix("p_"): test[c].to_numpy()
            for c in test
            if c.startswith("p_") and c != "p_churn"
        }
    )
    probs = {value_name("scorer", name, lang) or name: p for name, p in probs.items()}
    text = {tr(label, "en"): tr(label, lang) for label in PLOT_LABELS}
    gains_caption, calibration_caption = QUALITY_ARTIFACTS
    return {
        gains_caption: plots.gains_chart(y, probs, text),
        calibration_caption: plots.calibration_curve(y, probs, text=text),
    }


def top_at_risk(
    champions: Champions, cfg: ServingConfig, scored: ScoredRows, top: int, lang: Lang
) -> pd.DataFrame:
    """The ``top`` customers of the at-risk list (lapsed customers left out: they are for the
    win-back list) by expected value at risk, with the reasons that raise their risk."""
    preds = scored.predictions
    if "lifecycle_status" in preds:
        preds = preds[preds["lifecycle_status"].fillna("active") != "lapsed"]
    head = preds.head(top).copy()
    ids = head["customer_id"].astype(str).tolist()
    features = select_customers(features_from_store(cfg, scored.asof, ids), ids)
    reasons = risk_reasons(features, champions.churn, 3, lang)
    head["reasons"] = [[r.sentence for r in row] or [NO_RISK_REASON[lang]] for row in reasons]
    return head


def global_drivers(
    champions: Champions, cfg: ServingConfig, scored: ScoredRows, sample: int, lang: Lang = "en"
) -> tuple[dict[str, bytes], pd.DataFrame, int]:
    """Bar, beeswarm and driver heatmaps of a random sample of the scored customers, labelled
    in ``lang``."""
    features = features_from_store(cfg, scored.asof, sample_ids(scored.predictions, sample))
    g = global_explanation(champions.churn, features, sample=None)
    images = {
        "fig_importance": png_bytes(bar_figure(g, top=15, lang=lang)),
        "fig_beeswarm": png_bytes(beeswarm_figure(g, top=15, lang=lang)),
    }
    for column, caption in (
        ("segment", "fig_drivers_segment"),
        ("account_manager_id", "fig_drivers_manager"),
    ):
        if column in g.frame.columns:
            table = drivers_by(g, column)
            images[caption] = png_bytes(drivers_figure(table, tr(caption, lang), lang=lang))
    return images, importance(g).head(15), len(g.contributions)


def label_text(label: object, lang: Lang) -> str:
    """The churn definition a model records, in ``lang``: from its rule and horizon where the
    metadata holds them, else its recorded text as it is."""
    if not isinstance(label, dict):
        return str(label)
    rule, h = label.get("churn_definition"), label.get("horizon_days")
    if rule in ("contractual", "non_contractual", "mixed") and isinstance(h, int):
        return tr("label_rest", lang).format(rule=tr(f"label_{rule}", lang).format(h=h), h=h)
    return str(label.get("text") or label)


def month_scorecards(
    cfg: ServingConfig, data: str | Path, period: str, kpi: KpiConfig
) -> pd.DataFrame:
    """Manager and team scorecards of the month ``period`` (YYYY-MM), from the predictions that
    batch scoring stored at the month's first day (the portfolio's start)."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period):
        raise ExplainError(f"KPI period {period!r} is not a month YYYY-MM")
    start = stored_predictions(cfg, f"{period}-01")
    preds = start.predictions[["customer_id", "churn_probability", "predicted_value"]]
    return scorecard(load_dataset(data), preds, period, kpi)


def plans_and_trends(
    cfg: ServingConfig, data: str | Path, period: str, kpi: KpiConfig
) -> tuple[pd.DataFrame, Trends]:
    """The month's improvement plans recorded in the store and each manager's scorecards over
    the 12 months ending with it (the months the store has predictions for)."""
    store = PredictionStore(cfg.resolved_store_url())
    try:
        plans = PlanStore(store.engine).frame(datetime.now(UTC).date(), period=period)
        ds = load_dataset(data)
        trends = monthly_trends(store, pd.Timestamp(f"{period}-01"), kpi, lambda _: ds, data=data)
    finally:
        store.close()
    return plans, trends


def default_month(scored: pd.Timestamp, kpi: KpiConfig) -> str:
    """The scorecards' month when none is asked for: the scoring date's own month when it is a
    month's first day (its predictions are the month's), else the latest month that date can
    judge."""
    start = scored if scored.day == 1 else latest_complete_month(scored, kpi.outcome.horizon_days)
    return f"{start:%Y-%m}"


def gather_report_inputs(
    cfg: ServingConfig,
    kpi: KpiConfig,
    *,
    asof: str | None = None,
    data: str | Path | None = None,
    period: str | None = None,
    lang: Lang = "en",
    top: int = 50,
    sample: int = 2000,
    say: Callable[[str], None] | None = None,
) -> ReportInputs:
    """Collect every section of the report (see the module docstring)."""
    step = say or (lambda _msg: None)
    step("loading the champion models")
    champions = champions_for(cfg)
    step("reading the at-risk list from the store")
    scored = stored_predictions(cfg, asof)
    asof_text = scored.asof
    notes = [n for n in [version_note(scored, champions, lang)] if n]
    if lang != "en" and cjk_font() is None:
        notes.append(tr("note_no_font", lang))
    step("explaining the top at-risk customers")
    at_risk = top_at_risk(champions, cfg, scored, top, lang)
    step("computing global drivers")
    images, imp, explained = global_drivers(champions, cfg, scored, sample, lang)
    step("reading model quality from the training run")
    metrics, quality, quality_notes = model_quality(champions, cfg.resolved_tracking_uri(), lang)
    notes += quality_notes
    month = period or default_month(pd.Timestamp(asof_text), kpi)
    card, plans, trends = None, None, None
    if data is None:
        notes.append(tr("note_no_data", lang))
    else:
        step(f"scoring account managers for {month}")
        try:
            card = month_scorecards(cfg, data, month, kpi)
        except ChurnError as exc:
            note = tr("note_kpi_left_out", lang)
            notes.append(note.format(month=month, error=exc))
        if card is not None:
            step("reading the improvement plans and the last 12 months' scorecards")
            plans, trends = plans_and_trends(cfg, data, month, kpi)
    label = label_text(champions.churn.metadata.get("label_definition", ""), lang)
    return ReportInputs(
        asof=asof_text,
        models={
            cfg.models.churn: f"v{champions.churn_version}",
            cfg.models.value: f"v{champions.value_version}",
        },
        label_definition=str(label),
        at_risk=at_risk,
        total_customers=len(scored.predictions),
        driver_images=images,
        importance=imp,
        explained=explained,
        metrics=metrics,
        quality_images=quality,
        scorecard=card,
        period=month if card is not None else None,
        rfm_segments=segment_summary(scored.predictions),
        plans=plans,
        trends=trends,
        notes=tuple(notes),
        lang=lang,
        currency=cfg.currency,
    )
