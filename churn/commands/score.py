"""``churn score``: batch-score every active customer into the store and write the two lists:
customers at risk (active or lapsing) and lapsed customers to win back."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from churn.commands._inputs import champion_effects, load_folder
from churn.commands._options import LangOpt, MaxBadRowShareOpt, reasons_language
from churn.commands._output import Fmt, FormatOpt, Section, emit, messages
from churn.commands.features import (
    EngineName,
    EngineOpt,
    SparkConfOpt,
    SparkMasterOpt,
    engine_chosen,
    spark_conf,
)
from core.errors import ChurnError
from core.lang import Lang, catalogue, value_name
from core.phases import Phases

log = logging.getLogger(__name__)
WORDS = catalogue("cli")
t = WORDS.t

if TYPE_CHECKING:
    import pandas as pd

    from scoring.batch.job import BatchResult


def summary_rows(result: BatchResult, lang: Lang = "en") -> list[tuple[str, object]]:
    """Who scored what, the risk bands, the value at risk and where the outputs are."""
    preds = result.batch.predictions
    run = result.run
    stages = preds["lifecycle_status"].value_counts()
    return [
        (t("s_customers", lang), int(run.n_customers)),
        (t("s_churn_model", lang), f"{run.churn_model} v{run.churn_model_version}"),
        (t("s_horizon", lang), t("s_horizon_value", lang, days=run.horizon_days)),
        (t("s_value_model", lang), f"{run.value_model} v{run.value_model_version}"),
        *(
            (
                t("s_band", lang, band=value_name("risk_band", b, lang)),
                int((preds["risk_band"] == b).sum()),
            )
            for b in ("high", "medium", "low")
        ),
        (t("s_value_at_risk", lang), round(float(preds["expected_value_at_risk"].sum()), 2)),
        *(
            (
                t("s_lifecycle", lang, stage=value_name("lifecycle_status", s, lang)),
                int(stages.get(s, 0)),
            )
            for s in ("active", "lapsing", "lapsed")
        ),
        (t("s_store", lang), result.store),
        (t("s_at_risk_csv", lang), str(result.csv)),
        (t("s_win_back_csv", lang), str(result.win_back_csv)),
    ]


def summary_table(result: BatchResult, lang: Lang = "en") -> Table:
    """Who scored what, the risk bands and where the outputs are, as a two-column table."""
    table = Table(title=t("score_title", lang, asof=result.run.asof), show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    for what, value in summary_rows(result, lang):
        shown = f"{value:,.2f}" if isinstance(value, float) else value
        table.add_row(what, f"{shown:,}" if isinstance(shown, int) else str(shown))
    return table


def summary_section(result: BatchResult, lang: Lang = "en") -> Section:
    """The summary as an output section (``what``, ``value``); not part of the CSV."""
    import pandas as pd

    frame = pd.DataFrame(summary_rows(result), columns=["what", "value"], dtype=object)
    return Section("summary", frame, summary_table(result, lang), in_csv=False)


def top_rows(rows: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The first ``n`` rows of a list with the columns a retention lead reads."""
    h = next(c for c in rows.columns if c.startswith("churn_probability_")).removeprefix(
        "churn_probability"
    )
    shown = (
        "rank",
        "customer_id",
        "account_manager_id",
        "lifecycle_status",
        f"churn_probability{h}",
        f"value_if_retained{h}",
        f"expected_value_at_risk{h}",
        "benefit",
        "why_listed",
        "reason_1",
        "recommended_action",
    )
    return rows.head(n)[list(shown)]


def top_table(rows: pd.DataFrame, title: str, n: int = 10, lang: Lang = "en") -> Table:
    """The first ``n`` rows of a list, as a retention lead reads them (values named in
    ``lang``)."""
    import pandas as pd

    from scoring.lists import named_values

    top = named_values(top_rows(rows, n), lang)
    table = Table(title=title)
    for col in top.columns:
        base, h = col, ""
        if col.endswith("d") and col.rsplit("_", 1)[-1][:-1].isdigit():
            base, h = col.rsplit("_", 1)[0], "_" + col.rsplit("_", 1)[1]
        head = t(f"col_{base}", lang, h=h) if f"col_{base}" in WORDS else col
        table.add_column(head, justify="right" if top[col].dtype.kind in "fiu" else "left")
    for row in top.itertuples(index=False):
        cells = ["" if pd.isna(v) else str(v) for v in row]
        cells[0] = "" if pd.isna(row[0]) else f"{row[0]:.0f}"  # the rank, whole
        cells[4] = f"{row[4]:.4f}"  # the probability as the CSV has it (a band edge stays readable)
        cells[5:8] = [
            f"{row[5]:,.2f}",
            f"{row[6]:,.2f}",
            "" if pd.isna(row[7]) else f"{row[7]:,.2f}",
        ]
        table.add_row(*cells)
    return table


def score(
    data: Path = typer.Option(..., "--data", help="Data folder (one file per table)."),
    asof: str | None = typer.Option(
        None,
        "--asof",
        help="Score every customer active on this date YYYY-MM-DD (default: the data's as-of "
        "date: dataset.yaml's as_of, else the last event's day).",
    ),
    config: Path | None = typer.Option(
        None, "--config", help="YAML file; reads its serving: and data: sections."
    ),
    store: str | None = typer.Option(
        None, "--store", help="SQLAlchemy URL of the store (default: config, else SQLite)."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="At-risk CSV (default: $CHURN_HOME/at_risk/at_risk_<asof>.csv)."
    ),
    win_back_out: Path | None = typer.Option(
        None,
        "--win-back-out",
        help="Win-back CSV of lapsed customers (default: $CHURN_HOME/win_back/win_back_<asof>.csv).",
    ),
    max_bad_row_share: MaxBadRowShareOpt = None,
    top: int = typer.Option(10, "--top", min=0, help="Rows of each list to print."),
    skip_contacted_days: int = typer.Option(
        0,
        "--skip-contacted-days",
        min=0,
        max=3650,
        help="Leave out of both lists the customers contacted (the data's contacts table) "
        "within this many days before the as-of date; 0: keep everybody.",
    ),
    engine: EngineOpt = None,
    spark_master: SparkMasterOpt = None,
    spark_conf_: SparkConfOpt = None,
    out_parquet: Path | None = typer.Option(
        None,
        "--out-parquet",
        help="With --engine spark: score on Spark (the champions as Spark UDFs) and write the "
        "scores as Parquet partitioned by as-of date into this folder, instead of the store.",
    ),
    also_store: bool = typer.Option(
        False,
        "--also-store",
        help="With --out-parquet: also write the store and the two lists, as without it.",
    ),
    fmt: FormatOpt = Fmt.table,
    lang: LangOpt = "en",
) -> None:
    """Score every active customer with the champion models; write the store and the two lists.

    Prints a summary and the top of both lists; ``--format csv`` prints the listed rows (with a
    ``table`` column: at_risk or win_back) and sends the summary to stderr."""
    from dataclasses import replace

    from kpi.config import load_kpi_config
    from scoring.batch.asof import parse_asof
    from scoring.config import load_serving_config

    console = messages(fmt)
    language = reasons_language(lang)
    settings = spark_conf(engine, spark_master, spark_conf_)
    if out_parquet is not None and engine is not EngineName.spark:
        raise ChurnError("--out-parquet needs --engine spark")
    if also_store and out_parquet is None:
        raise ChurnError("--also-store goes with --out-parquet")
    cfg = load_serving_config(config)
    if store:
        cfg = cfg.model_copy(update={"store_url": store})
    wanted = None if asof is None else parse_asof(asof)  # a bad date fails before any loading
    stack = contextlib.ExitStack()
    fetched = None
    if out_parquet is None or also_store:  # MLflow's import on the other core, meanwhile
        from scoring.prefetch import fetching

        fetched = stack.enter_context(fetching(cfg.models, cfg.resolved_tracking_uri()))
    phases = Phases()
    with stack:
        with phases.timed("load"):
            ds = load_folder(
                data, console, max_bad_row_share=max_bad_row_share, config=config, lang=language
            )
        when = ds.as_of if wanted is None else wanted
        if when > ds.as_of and ds.as_of_source in ("last event", "today"):
            # the data has no events after its last event's day: --asof dates it, as dataset.yaml would
            ds = replace(ds, as_of=when, as_of_source="argument")
            console.print(f"{ds.as_of_text()} (after the last event in the data)", highlight=False)
        with engine_chosen(engine, spark_master, settings):
            if out_parquet is not None:
                from features.engines.spark import spark_session
                from scoring.batch.spark import run_spark_batch

                with console.status("batch scoring on Spark"):
                    scored = run_spark_batch(ds, when, cfg, spark_session(), out_parquet)
                console.print(
                    f"{scored.n_customers:,} customers scored on Spark as of {when:%Y-%m-%d}: "
                    f"{scored.out / f'asof={when:%Y-%m-%d}'}",
                    highlight=False,
                )
                if not also_store:
                    return
            economics = load_kpi_config(config).campaign
            with console.status("batch scoring") as status:
                effects = None
                if cfg.lists.benefit_effect == "uplift":
                    status.update("estimating the effect of a contact (uplift champion)")
                    with phases.timed("uplift"):
                        effects, _ = champion_effects(ds, when, config, store, required=False)
                status.update("loading the champion models")
                from features.config import load_feature_config
                from scoring.batch.job import run_batch  # the models' libraries, after the data

                result = run_batch(
                    ds,
                    when,
                    cfg,
                    str(Path(data).resolve()),
                    out,
                    win_back_out,
                    say=status.update,
                    economics=economics,
                    uplift=effects,
                    phases=phases,
                    skip_contacted_days=skip_contacted_days,
                    lang=language,
                    fetched=fetched,
                    expected=load_feature_config(config),
                )
    log.info("batch scoring steps:\n%s", phases.table())
    at_risk, win_back = result.lists["at_risk"], result.lists["win_back"]
    emit(
        [
            summary_section(result, language),
            Section(
                "at_risk",
                top_rows(at_risk, top),
                top_table(at_risk, t("top_at_risk", language, n=top), top, language),
            ),
            Section(
                "win_back",
                top_rows(win_back, top),
                top_table(win_back, t("top_win_back", language, n=top), top, language),
            ),
        ],
        fmt,
    )


def register(app: typer.Typer) -> None:
    """Add ``score`` to the ``churn`` app."""
    app.command("score")(score)
