"""``churn train``: train, evaluate, log, register and gate the churn and value models."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from churn.commands._inputs import load_folder
from churn.commands._options import LangOpt, MaxBadRowShareOpt, reasons_language
from churn.commands._output import (
    Fmt,
    FormatOpt,
    Section,
    emit,
    load_snippet,
    messages,
    metrics_sections,
    shown_value,
)
from churn.commands._train_words import references_text, selection_line
from churn.commands.features import (
    EngineOpt,
    SparkConfOpt,
    SparkMasterOpt,
    engine_chosen,
    spark_conf,
)
from core.lang import Lang, catalogue

t = catalogue("cli").t

if TYPE_CHECKING:
    from training.job import TrainResult

MAX_TRAIN_ROWS = 2_000_000
"""Default most customer-cutoff rows of the training table: training runs on one machine, and
``benchmarks/spark.py train-memory`` measured 5.7 GB peak at 1.15 million rows (about 5 KB a row),
so 2 million rows need about 11 GB (docs/spark.md)."""


def cutoffs_within(n_customers: int, wanted: int, max_rows: int) -> int:
    """How many training cutoffs keep customers x (cutoffs + calibration + test) within
    ``max_rows`` (at least 1): an upper bound, as not every customer is active at every cutoff."""
    fit = max_rows // max(n_customers, 1) - 2
    return max(1, min(wanted, fit))


def train(
    data: Path = typer.Option(..., "--data", help="Data folder (one file per table)."),
    config: Path | None = typer.Option(
        None, "--config", help="YAML file; reads its data:, features: and training: sections."
    ),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        "--asof",
        help="As-of date YYYY-MM-DD (default: dataset.yaml's as_of, else the last event's day).",
    ),
    horizon: str | None = typer.Option(
        None,
        "--horizon",
        help="Label horizon in days (default: the config's features.labels.horizon_days, else "
        "90), or 'auto': the longest the history allows, up to that.",
    ),
    train_cutoffs: int | None = typer.Option(
        None,
        "--train-cutoffs",
        min=1,
        max=60,
        help="Most monthly training cutoffs (default: training.split.train_cutoffs, else 6).",
    ),
    max_bad_row_share: MaxBadRowShareOpt = None,
    tracking_uri: str | None = typer.Option(
        None, help="MLflow tracking URI (default: MLFLOW_TRACKING_URI, else SQLite in home)."
    ),
    engine: EngineOpt = None,
    spark_master: SparkMasterOpt = None,
    spark_conf_: SparkConfOpt = None,
    max_train_rows: int = typer.Option(
        MAX_TRAIN_ROWS,
        "--max-train-rows",
        min=1,
        help="Most customer-cutoff rows to train on: a larger book trains on fewer, the latest, "
        "monthly cutoffs (training runs on one machine; see docs/spark.md).",
    ),
    fmt: FormatOpt = Fmt.table,
    lang: LangOpt = "en",
) -> None:
    """Train the churn and value models, log them to MLflow, register and gate them.

    User errors (a bad config, a history too short for the split) propagate as ``ChurnError``:
    the ``churn`` entry point prints them without a traceback.
    """
    from features.config import load_feature_config
    from training.config import load_training_config, with_overrides
    from training.uplift.config import load_uplift_config

    console = messages(fmt)
    language = reasons_language(lang)
    settings = spark_conf(engine, spark_master, spark_conf_)
    auto = (horizon or "").strip().lower() == "auto"
    days = None if horizon is None or auto else _horizon_days(horizon)
    features, cfg = with_overrides(
        load_feature_config(config), load_training_config(config), days, train_cutoffs
    )
    share = max_bad_row_share
    ds = load_folder(
        data, console, as_of=as_of, max_bad_row_share=share, config=config, lang=language
    )
    if auto:
        features, cfg = _auto_horizon(ds, features, cfg, console, language)
    n_customers = len(ds.tables["customers"])
    wanted = cfg.split.train_cutoffs
    fit = cutoffs_within(n_customers, wanted, max_train_rows)
    if fit < wanted:
        features, cfg = with_overrides(features, cfg, None, fit)
        said = t(
            "max_rows_note", language, n=n_customers, wanted=wanted, rows=max_train_rows, fit=fit
        )
        console.print(said, highlight=False)
    from training.job import train as run_training  # MLflow and LightGBM, after the data

    with engine_chosen(engine, spark_master, settings):
        uplift = load_uplift_config(config)
        result = run_training(
            ds, cfg, features, tracking_uri=tracking_uri, progress=True, uplift=uplift,
            lang=language,
        )  # fmt: skip
    emit(
        [
            *selection_sections(result, language),
            *metrics_sections(result.evaluation, lang=language),
        ],
        fmt,
    )
    selection = result.trained.selection
    if selection is not None:
        promoted = result.decisions[cfg.churn_model_name].outcome == "champion"
        said = selection_line(selection, promoted, language)
        console.print(said + t("full_stop", language), highlight=False)
    said = references_text(result.trained, language)
    console.print(said + t("full_stop", language), highlight=False)
    h = result.trained.plan.horizon_days
    console.print(t("registered_horizon", language, h=h), highlight=False)
    run = t("mlflow_run", language, run=result.run_id, uri=result.tracking_uri)
    console.print(run, highlight=False)
    console.print(
        t("score_snippet", language)
        + "\n"
        + load_snippet(result.tracking_uri, cfg.churn_model_name, t("snippet_frame", language)),
        highlight=False,
        soft_wrap=True,
    )


def _horizon_days(text: str) -> int:
    from training.config import ConfigError

    try:
        days = int(text)
    except ValueError:
        days = 0
    if days < 1:
        raise ConfigError(
            f"invalid option: --horizon must be a whole number of days >= 1 or 'auto', got {text!r}"
        )
    return days


def _auto_horizon(
    ds: Any, features: Any, cfg: Any, console: Any, lang: Lang = "en"
) -> tuple[Any, Any]:
    """``--horizon auto``: the longest horizon the history allows, up to the configured one."""
    import pandas as pd

    from training.config import with_overrides
    from training.split import longest_horizon

    wanted = features.labels.horizon_days
    first = ds.tables["customers"]["signup_date"].min()
    longest = longest_horizon(pd.Timestamp(first), ds.as_of) if pd.notna(first) else wanted
    h = max(min(wanted, longest), 1)
    console.print(t("horizon_auto", lang, h=h, longest=longest, wanted=wanted), highlight=False)
    return with_overrides(features, cfg, h, None)


def selection_sections(result: TrainResult, lang: Lang = "en") -> list[Section]:
    """The candidates x validation cutoffs table (ROC-AUC, mean ROC-AUC, mean log loss)."""
    import pandas as pd
    from rich.table import Table

    selection = result.trained.selection
    if selection is None:
        return []
    frame = selection.table().reset_index()
    n, chosen = selection.auc.shape[1], shown_value("scorer", selection.chosen, lang)
    table = Table(title=t("selection_title", lang, n=n, chosen=chosen))
    for col in frame.columns:
        head = t("h_scorer", lang) if col == "scorer" else selection_head(str(col), lang)
        table.add_column(head, justify="left" if col == "scorer" else "right")
    for row in frame.itertuples(index=False):
        name = shown_value("scorer", row[0], lang)
        cells = [name, *("-" if pd.isna(v) else f"{v:.4f}" for v in row[1:])]
        table.add_row(*cells)
    return [Section("selection", frame, table)]


def selection_head(column: str, lang: Lang) -> str:
    """A column of the selection table as people read it: a validation cutoff's date as it is,
    the means in ``lang``."""
    key = {"mean ROC-AUC": "h_mean_roc_auc", "mean log loss": "h_mean_log_loss"}.get(column)
    return column if key is None else t(key, lang)


def register(app: typer.Typer) -> None:
    """Add ``train`` to the ``churn`` app."""
    app.command("train")(train)
