"""``churn plans``: the improvement plans the bottom of each month's ranking owes (document 000:
提交整改方案 within a week of the scorecards), open, submitted or overdue; ``churn plans submit``
records a plan a manager handed in.

Plans are issued when a month's scorecards are produced from the store (``churn kpi --period
YYYY-MM``, the workspace's managers pages, or ``churn plans --period YYYY-MM`` here).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from churn.commands._options import ConfigOpt, DataOpt, LangOpt, StoreOpt, reasons_language
from churn.commands._output import Fmt, FormatOpt
from core.lang import catalogue, show_date

t = catalogue("cli").t

plans_app = typer.Typer(
    help="Improvement plans of the bottom of each month's ranking (document 000): list, submit.",
    invoke_without_command=True,
)

PeriodOpt = Annotated[
    str | None,
    typer.Option(
        "--period",
        help="A month YYYY-MM: produce its scorecards from the store first, issuing the plans "
        "they call for, and list that month's plans.",
    ),
]


def _today():  # -> datetime.date
    from datetime import UTC, datetime

    return datetime.now(UTC).date()


@plans_app.callback()
def plans(
    ctx: typer.Context,
    period: PeriodOpt = None,
    manager: Annotated[str | None, typer.Option("--manager", help="Only this manager.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="Only open, overdue or submitted plans.")
    ] = None,
    data: DataOpt = None,
    config: ConfigOpt = None,
    store: StoreOpt = None,
    fmt: FormatOpt = Fmt.table,
    lang: LangOpt = "en",
) -> None:
    """List the improvement plans: who owes one for which month, when it is due, and whether it
    is open, overdue or submitted."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from churn.commands._inputs import serving_config
    from churn.commands._output import Section, emit, fail, messages, shown_value
    from core.errors import ChurnError
    from kpi.config import KpiError, load_kpi_config
    from kpi.periods import parse_period
    from scoring.store.plans import STATUSES, PlanStore
    from scoring.store.predictions import PredictionStore

    console = messages(fmt)
    language = reasons_language(lang)
    try:
        if status is not None and status not in STATUSES:
            statuses = ", ".join(STATUSES)
            raise KpiError(t("status_must_be", language, statuses=statuses, got=status))
        cfg = load_kpi_config(config)
        p = parse_period(period) if period is not None else None
        if p is not None and p.kind != "month":
            raise KpiError(t("plans_month_only", language, label=p.label))
        st = PredictionStore(serving_config(config, store).resolved_store_url())
        try:
            plan_store = PlanStore(st.engine)
            if p is not None:
                new = _issue(st, plan_store, p, cfg, data, console, language)
                console.print(t("plans_new", language, label=p.label, n=new), highlight=False)
            frame = plan_store.frame(_today(), manager, p.label if p else None)
        finally:
            st.close()
    except ChurnError as exc:
        raise fail(exc, language) from None
    if status is not None:
        frame = frame[frame["status"] == status]
    table = Table(
        title=t("plans_title", language),
        caption=t("plans_caption", language, days=cfg.ranking.improvement_plan_days),
        header_style="bold",
    )
    heads = ("manager", "period", "score", "rank", "issued", "due", "status", "submitted_by")
    for h in heads:
        table.add_column(
            t(f"h_{h}", language), justify="right" if h in ("score", "rank") else "left"
        )
    style = {"overdue": "red", "submitted": "green", "open": "yellow"}
    for r in frame.to_dict("records"):
        state = shown_value("plan_status", r["status"], language)
        table.add_row(
            r["account_manager_id"],
            r["period"],
            "" if r["score"] != r["score"] or r["score"] is None else f"{r['score']:.2f}",
            "" if r["rank"] != r["rank"] or r["rank"] is None else f"{r['rank']:.0f}",
            show_date(r["issued_on"], language),
            show_date(r["due_on"], language),
            f"[{style[r['status']]}]{state}[/]",
            r["submitted_by"] if isinstance(r["submitted_by"], str) else "",
        )
    emit([Section("plans", frame, table)], fmt)
    if frame.empty and fmt is Fmt.table:
        console.print(t("no_plans", language), highlight=False)


def _issue(st, plan_store, period, cfg, data: Path | None, console, lang="en") -> int:
    """Produce the month's scorecards from the store and issue the plans they call for."""
    from features.loaders import load_dataset
    from kpi.inputs import period_inputs
    from kpi.plans import issue_plans
    from kpi.scorecard import scorecard

    inputs = period_inputs(st, period, cfg.outcome, load_dataset, data)
    with console.status(t("scoring_period", lang, label=period.label)):
        card = scorecard(inputs.dataset, inputs.stored.predictions, period, cfg)
    return issue_plans(plan_store, card, cfg.ranking, _today())


@plans_app.command("submit")
def submit(
    manager: Annotated[str, typer.Argument(help="The account manager who handed in the plan.")],
    period: Annotated[str, typer.Option("--period", help="The month YYYY-MM of the plan.")],
    text: Annotated[str, typer.Option("--text", help="The plan (what will change, by when).")],
    by: Annotated[
        str, typer.Option("--by", help="Who records it (default: the system user).")
    ] = "",
    config: ConfigOpt = None,
    store: StoreOpt = None,
    lang: LangOpt = "en",
) -> None:
    """Record the improvement plan MANAGER handed in for a month."""
    import getpass

    from churn.commands._inputs import serving_config
    from churn.commands._output import fail, messages
    from core.errors import ChurnError
    from kpi.periods import parse_period
    from scoring.store.plans import PlanStore
    from scoring.store.predictions import PredictionStore

    console = messages()
    language = reasons_language(lang)
    try:
        label = parse_period(period).label
        st = PredictionStore(serving_config(config, store).resolved_store_url())
        try:
            done = PlanStore(st.engine).submit(manager, label, text, by or getpass.getuser())
        finally:
            st.close()
    except ChurnError as exc:
        raise fail(exc, language) from None
    day = show_date(str(done["submitted_at"])[:10], language)
    said = t(
        "plan_recorded", language, manager=manager, label=label, date=day, by=done["submitted_by"]
    )
    console.print(said, highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``plans`` to the ``churn`` app."""
    app.add_typer(plans_app, name="plans")
