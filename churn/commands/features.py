"""``churn features``: point-in-time features and labels of one cutoff, written to Parquet."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from churn.commands._inputs import load_folder
from churn.commands._options import LangOpt, MaxBadRowShareOpt, reasons_language
from churn.commands._output import (
    Fmt,
    FormatOpt,
    Section,
    emit,
    messages,
    report_frame,
    report_table,
)
from core.errors import ChurnError
from core.lang import Lang, catalogue, show_date
from core.notes import say

t = catalogue("cli").t


class EngineName(StrEnum):
    """Where the window aggregates run (``features.engines``)."""

    pandas = "pandas"
    spark = "spark"


EngineOpt = Annotated[
    EngineName | None,
    typer.Option(
        "--engine",
        help="Where the feature aggregates run: pandas or spark (default: the config's "
        "features.engine, else pandas). Same features from each.",
    ),
]
SparkMasterOpt = Annotated[
    str | None,
    typer.Option(
        "--spark-master",
        help="Spark master URL for --engine spark (default local[*]: this machine's cores).",
    ),
]
SparkConfOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--spark-conf",
        help="Spark setting KEY=VALUE for --engine spark; repeat for more "
        "(e.g. spark.driver.memory=8g, spark.churn.staging.dir=hdfs://...).",
    ),
]


def spark_conf(
    engine: EngineName | None, master: str | None, pairs: list[str] | None
) -> dict[str, str]:
    """``--spark-conf KEY=VALUE`` options as a dict, checked before any data is read; ChurnError
    names an option without ``=`` or Spark options without ``--engine spark``."""
    if engine is not EngineName.spark and (master or pairs):
        raise ChurnError("--spark-master and --spark-conf need --engine spark")
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ChurnError(f"--spark-conf {pair!r}: give a Spark setting as KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


@contextmanager
def engine_chosen(
    engine: EngineName | None, master: str | None, settings: dict[str, str]
) -> Iterator[None]:
    """Build features inside the block with ``engine`` (starting Spark for ``spark``); with no
    engine, the configuration's. The engine is not recorded in the models' feature config."""
    if engine is None:
        yield
        return
    from features.engines.dispatch import use_engine

    session = None
    if engine is EngineName.spark:
        from features.engines.spark import spark_session

        session = spark_session(master, settings)
    with use_engine(engine.value, session):
        yield


def champion_horizon() -> int | None:
    """The label horizon in days of the registered churn champion (None without one)."""
    try:
        from serving.config import load_serving_config

        from reports.sources import champions_for

        h = champions_for(load_serving_config(None)).churn.metadata.get("horizon_days")
    except Exception:  # no registry, no champion or an unreadable one: no model in use
        return None
    return int(h) if h else None


def features_command(
    data: Path = typer.Option(..., "--data", help="Data folder: one CSV or Parquet per table."),
    cutoff: str = typer.Option(
        ..., "--cutoff", help="Cutoff date T (YYYY-MM-DD): features use events before T."
    ),
    out: Path = typer.Option(..., "--out", help="Output Parquet file."),
    horizon: int | None = typer.Option(
        None, "--horizon", min=1, help="Label horizon H in days (default: config, else 90)."
    ),
    config: Path | None = typer.Option(
        None, "--config", help="YAML file; its 'features:' section sets FeatureConfig."
    ),
    labels: bool = typer.Option(
        True, "--labels/--no-labels", help="Add churned and future_value over [T, T+H)."
    ),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        "--asof",
        help="The data's as-of date YYYY-MM-DD (default: dataset.yaml's as_of, else the last "
        "event's day).",
    ),
    max_bad_row_share: MaxBadRowShareOpt = None,
    engine: EngineOpt = None,
    spark_master: SparkMasterOpt = None,
    spark_conf_: SparkConfOpt = None,
    fmt: FormatOpt = Fmt.table,
    lang: LangOpt = "en",
) -> None:
    """Build one row per customer active at the cutoff: RFM, interaction, complaint and
    profile features from events before T, and churn/value labels over [T, T+H)."""
    from features.config import load_feature_config
    from features.feature_io import write_features
    from features.pipeline.build import build_features

    console = messages(fmt)
    language = reasons_language(lang)
    try:
        settings = spark_conf(engine, spark_master, spark_conf_)
        model_horizon = champion_horizon() if labels else None
        if horizon is None and config is None and model_horizon is not None:
            horizon = model_horizon  # label with the horizon of the model in use
        cfg = load_feature_config(config, horizon)
        ds = load_folder(
            data,
            console,
            as_of=as_of,
            max_bad_row_share=max_bad_row_share,
            config=config,
            lang=language,
        )
        title = t("folder_title", language, data=data, date=show_date(ds.as_of, language))
        emit([Section("tables", report_frame(ds), report_table(ds, title, language))], fmt)
        with (
            console.status(t("building_features", language, cutoff=cutoff)),
            engine_chosen(engine, spark_master, settings),
        ):
            frame = build_features(ds, cutoff, cfg, labels=labels)
        with console.status(t("writing", language, path=out)):
            write_features(frame, out)
    except ChurnError as exc:
        console.print(f"[red]{t('error', language)}[/red] {exc.said(language)}", highlight=False)
        raise typer.Exit(2) from None
    note = f"[yellow]{t('note_prefix', language)}[/yellow]"
    for text in frame.attrs["notes"]:
        console.print(f"{note} {say(text, language)}", highlight=False)
    n_features = len(frame.attrs["feature_names"])
    line = t("features_built", language, n=len(frame), cutoff=cutoff, k=n_features)
    console.print(line, highlight=False)
    if labels:
        rate = frame["churned"].mean()
        unlabelled = frame["churned"].isna().all()
        shown = t("unlabelled", language) if unlabelled else t("churn_rate_is", language, rate=rate)
        definition = label_text(frame.attrs["label_definition"], language)
        line = t("labels_line", language, definition=definition, shown=shown)
        console.print(line, highlight=False, markup=False)
        h = cfg.labels.horizon_days
        if model_horizon is None:
            console.print(t("horizon_no_model", language, h=h), highlight=False)
        elif model_horizon == h:
            console.print(t("horizon_model", language, h=h), highlight=False)
        else:
            said = t("horizon_differs", language, h=h, m=model_horizon)
            console.print(f"{note} {said}", highlight=False)
    console.print(t("features_written", language, path=out), highlight=False)


def label_text(definition: dict, lang: Lang) -> str:
    """The label definition ``build_features`` records, in ``lang`` (the words of the report's
    churn definition); its recorded English text when the rule is not one the catalogue names."""
    words = catalogue("report")
    rule, h = definition.get("churn_definition"), definition.get("horizon_days")
    if lang == "en" or rule not in ("contractual", "non_contractual", "mixed") or h is None:
        return str(definition.get("text", ""))
    return words.t("label_rest", lang, rule=words.t(f"label_{rule}", lang, h=h), h=h)


def register(app: typer.Typer) -> None:
    """Add ``features`` to the ``churn`` app."""
    app.command("features")(features_command)
