"""``churn kpi``: scorecards and commission of account managers for a month, quarter or year.

Reads the predictions made at the period start from the batch-scoring store by default, with the
data folder that scoring read; ``--predictions FILE`` and ``--data DIR`` override them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from churn.commands._inputs import (
    from_store,
    load_folder,
    need_data,
    read_frame,
    score_options,
    serving_config,
)
from churn.commands._options import ConfigOpt, DataOpt, LangOpt, PredOpt, StoreOpt, reasons_language
from churn.commands._output import (
    Fmt,
    FormatOpt,
    Section,
    emit,
    fail,
    indicator_table,
    messages,
    scorecard_caption,
    scorecard_frame,
    scorecard_table,
    shown_value,
    write_frame,
)
from core.errors import ChurnError
from core.lang import Lang, catalogue

t = catalogue("cli").t

KPI_HELP = (
    "Scorecards of account managers and teams for a month, quarter or year: retention, "
    "value-weighted and risk-adjusted retention, service, sales, 100-point score, grade, rank, "
    "commission (docs/kpi.md)."
)


def kpi(
    period: Annotated[
        str, typer.Option("--period", help="Month YYYY-MM, quarter YYYY-Qn or YYYY.")
    ],
    data: DataOpt = None,
    predictions: PredOpt = None,
    config: ConfigOpt = None,
    store: StoreOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the scorecards to this .csv or .parquet.")
    ] = None,
    manager: Annotated[
        list[str] | None, typer.Option("--manager", help="Only this manager (repeatable).")
    ] = None,
    fmt: FormatOpt = Fmt.table,
    lang: LangOpt = "en",
) -> None:
    """Scorecards of account managers and teams: retention, value-weighted and risk-adjusted
    retention, service, sales, 100-point score, grade, rank and commission."""
    from features.loaders import load_dataset
    from kpi.config import load_kpi_config
    from kpi.inputs import period_inputs
    from kpi.periods import parse_period
    from kpi.scorecard import NO_CUSTOMERS, scorecard

    console = messages(fmt)
    language = reasons_language(lang)
    try:
        cfg = load_kpi_config(config)
        p = parse_period(period)
        if predictions is None:
            serving, options = serving_config(config, store), score_options(config, store)
            inputs = from_store(
                serving,
                console,
                lambda st: period_inputs(st, p, cfg.outcome, load_dataset, data, options),
                language,
            )
            ds, preds = inputs.dataset, inputs.stored.predictions
        else:
            ds = load_folder(
                need_data(data), console, config=config, say_as_of=False, lang=language
            )
            preds = read_frame(predictions, "predictions")
        with console.status(t("scoring_period", language, label=p.label)):
            frame = scorecard(ds, preds, p, cfg, managers=manager or None)
        if predictions is None and p.kind == "month":
            issued = _issue_plans(serving, frame, cfg)
            if issued:
                console.print(t("plans_issued", language, n=issued), highlight=False)
        if out is not None:
            write_frame(frame, out)
    except ChurnError as exc:
        raise fail(exc, language) from None
    label = frame["period"].iloc[0]
    managers = frame[frame["level"] == "manager"].sort_values(["rank", "account_manager_id"])
    title = t("managers_title", language, label=label)
    table = scorecard_table(managers, title, scorecard_caption(language), language)
    sections = [Section("managers", scorecard_frame(managers), table)]
    teams = frame[frame["level"] == "team"]
    if len(teams):
        table = scorecard_table(teams, t("teams_title", language, label=label), lang=language)
        sections.append(Section("teams", scorecard_frame(teams), table))
    campaigns = _campaign_section(managers, label, language)
    if campaigns is not None:
        sections.append(campaigns)
    annual = _annual_section(managers, label, language)
    if annual is not None:
        sections.append(annual)
    if fmt is Fmt.table:  # CSV and JSON hold the indicators as keys of managers and teams
        both = frame.loc[[*managers.index, *teams.index]]
        sections.append(
            Section(
                "indicators",
                both,
                indicator_table(both, t("indicators_title", language, label=label), language),
            )
        )
    emit(sections, fmt)
    unscored = managers.loc[managers["notes"].str.contains(NO_CUSTOMERS, regex=False)]
    if len(unscored):
        ids = ", ".join(unscored["account_manager_id"].astype(str))
        console.print(f"[yellow]{t('not_scored', language)}[/] {ids}")
    sources = managers["satisfaction_source"].dropna().unique() if len(managers) else []
    if len(sources):
        shown = ", ".join(shown_value("satisfaction_source", s, language) for s in sources)
        console.print(t("satisfaction_from", language, sources=shown), highlight=False)
    if out is not None:
        console.print(t("scorecards_written", language, path=out))


def _issue_plans(serving, frame, cfg) -> int:
    """Issue the improvement plans a month's scorecards from the store call for (document
    000: the bottom two, due a week after the scorecards)."""
    from datetime import UTC, datetime

    from kpi.plans import issue_plans
    from scoring.store.plans import PlanStore
    from scoring.store.predictions import PredictionStore

    store = PredictionStore(serving.resolved_store_url())
    try:
        return issue_plans(PlanStore(store.engine), frame, cfg.ranking, datetime.now(UTC).date())
    finally:
        store.close()


def _annual_section(managers, label: str, lang: Lang = "en") -> Section | None:
    """A year's annual assessment (document 000, 年度考核): the mean monthly score with the
    ability and attitude ratings of manager_reviews."""
    from rich.table import Table

    if "annual_score" not in managers.columns:
        return None
    cols = ["account_manager_id", "performance", "ability", "attitude", "annual_score",
            "annual_grade"]  # fmt: skip
    frame = managers[cols].reset_index(drop=True)
    table = Table(
        title=t("annual_title", lang, label=label),
        caption=t("annual_caption", lang),
        header_style="bold",
    )
    for h in ("manager", "performance", "ability", "attitude", "annual_score", "grade"):
        table.add_column(
            t(f"h_{h}", lang), justify="left" if h in ("manager", "grade") else "right"
        )
    for r in frame.to_dict("records"):
        table.add_row(
            str(r["account_manager_id"]),
            *("-" if v != v or v is None else f"{v:.1f}" for v in
              (r["performance"], r["ability"], r["attitude"], r["annual_score"])),
            "" if not isinstance(r["annual_grade"], str) else shown_value("grade", r["annual_grade"], lang),
        )  # fmt: skip
    return Section("annual", frame, table)


def _campaign_section(managers, label: str, lang: Lang = "en") -> Section | None:
    """Retention campaigns against their control groups, beside the score (docs/kpi.md)."""
    from rich.table import Table

    from kpi.campaign_results import RESULT_COLUMNS

    if "incremental_retained_value" not in managers.columns:
        return None
    rows = managers[managers["contacted"].fillna(0) > 0]
    if rows.empty:
        return None
    frame = rows[["account_manager_id", *RESULT_COLUMNS]].reset_index(drop=True)
    table = Table(
        title=t("campaigns_title", lang, label=label),
        caption=t("campaigns_caption", lang),
        header_style="bold",
    )
    heads = ("manager", "contacted", "control", "churn_contacted", "churn_control", "incremental")
    for h in heads:
        table.add_column(t(f"h_{h}", lang), justify="left" if h == "manager" else "right")
    for _, r in frame.iterrows():
        table.add_row(
            str(r["account_manager_id"]),
            f"{r['contacted']:.0f}",
            f"{r['control']:.0f}",
            _pct(r["churn_rate_contacted"]),
            _pct(r["churn_rate_control"]),
            "-"
            if r["incremental_retained_value"] != r["incremental_retained_value"]
            else f"{r['incremental_retained_value']:,.0f}",
        )
    return Section("campaigns", frame, table)


def _pct(x: float) -> str:
    return "-" if x != x else f"{x:.1%}"


def register(app: typer.Typer) -> None:
    """Add ``kpi`` to the ``churn`` app."""
    app.command("kpi", help=KPI_HELP)(kpi)
