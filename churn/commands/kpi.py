"""``churn kpi`` (scorecards and commission of a month, quarter or year) and ``churn campaign``
(whom each account manager should contact).

Both read the predictions made at the period start (or campaign date) from the batch-scoring store
by default, with the data folder that scoring read; ``--predictions FILE`` and ``--data DIR``
override them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import pandas as pd
import typer
from rich import box
from rich.console import Console
from rich.table import Table

from core.errors import ChurnError
from features.dataset import Dataset
from features.loaders import load_dataset
from kpi.config import KpiError, load_kpi_config
from kpi.periods import parse_period
from kpi.scorecard import NO_CUSTOMERS, scorecard
from serving.batch.store import PredictionStore
from serving.config import ServingConfig, load_serving_config
from serving.kpi_inputs import (
    PeriodInputs,
    StoredPredictions,
    period_inputs,
)

Read = TypeVar("Read", PeriodInputs, StoredPredictions)


def _console(stderr: bool = False) -> Console:
    """Rich console; when the output is not a terminal (logs, CI) tables get 140 columns."""
    probe = Console(stderr=stderr)
    return probe if probe.is_terminal else Console(stderr=stderr, width=140)


DataOpt = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="Data set folder (CSV or Parquet tables); default: the folder the batch scoring "
        "of the period start read.",
    ),
]
PredOpt = Annotated[
    Path | None,
    typer.Option(
        "--predictions",
        help="Predictions file (Parquet or CSV) instead of the store: customer_id, "
        "churn_probability, predicted_value; optional as_of (score date) and reasons.",
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="YAML file; its kpi: section (and serving: store_url) is read."),
]
StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store", help="SQLAlchemy URL of the prediction store (default: config, else SQLite)."
    ),
]


def _fail(exc: ChurnError) -> typer.Exit:
    _console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False)
    return typer.Exit(2)


def read_frame(path: Path, what: str) -> pd.DataFrame:
    """Read a Parquet or CSV file (ids as text); a missing or unreadable file is a KpiError."""
    if not path.is_file():
        raise KpiError(f"{what} file {path} does not exist")
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype={"customer_id": "str", "account_manager_id": "str"})
    except (OSError, ValueError) as exc:
        raise KpiError(f"{what} file {path} cannot be read: {exc}") from None


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    """Write CSV or Parquet by the file's suffix."""
    if path.suffix not in (".csv", ".parquet"):
        raise KpiError(f"output {path} must end in .csv or .parquet")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)


def _load(data: Path, console: Console, as_of: str | None = None) -> Dataset:
    with console.status(f"Loading {data} ..."):
        return load_dataset(data, as_of=as_of)


def _pct(x: float) -> str:
    return "-" if pd.isna(x) else f"{100 * x:.1f}%"


def _num(x: float, fmt: str = ",.0f") -> str:
    return "-" if pd.isna(x) else format(x, fmt)


def _flags(row: pd.Series) -> str:
    names = [("first_place", "top"), ("last_place", "last"), ("improvement_plan", "plan")]
    return " ".join(label for col, label in names if bool(row.get(col)) is True)


KPI_HELP = (
    "Scorecards of account managers and teams for a month, quarter or year: retention, "
    "value-weighted and risk-adjusted retention, service, sales, 100-point score, grade, rank, "
    "commission (docs/kpi.md)."
)
CAPTION = (
    "Book: customers at the period start; VWR: value-weighted retention; RAR: risk-adjusted "
    "retention (1.0 = as predicted); CSAT: satisfied share; Flags: top, last, plan "
    "(improvement plan); Payout: commission + ranking bonus or deduction"
)


def scorecard_table(frame: pd.DataFrame, title: str, caption: str | None = None) -> Table:
    """A readable terminal table of scorecard rows (managers or teams)."""
    table = Table(
        title=title,
        header_style="bold",
        box=box.SIMPLE_HEAD,
        caption=caption,
        caption_justify="left",
    )
    heads = ["Manager", "Team", "Book", "Churn", "VWR", "RAR", "CSAT", "Sales/quota", "Score",
             "Grade", "Rank", "Flags", "Payout"]  # fmt: skip
    for h in heads:
        table.add_column(
            h, justify="left" if h in ("Manager", "Team", "Grade", "Flags") else "right"
        )
    for _, r in frame.iterrows():  # one row per manager or team, for display only
        table.add_row(
            str(r["account_manager_id"]) if pd.notna(r["account_manager_id"]) else "",
            str(r["team"]) if pd.notna(r["team"]) else "",
            _num(r["portfolio_start"]),
            _pct(r["churn_rate"]),
            _num(r["value_weighted_retention"], ".3f"),
            _num(r["risk_adjusted_retention"], ".3f"),
            _pct(r["satisfaction"]),
            _pct(r["sales_vs_quota"]),
            _num(r["score"], ".2f"),
            str(r["grade"]) if pd.notna(r["grade"]) else "-",
            _num(r["rank"], ".0f"),
            _flags(r),
            _num(r["payout"], ",.0f"),
        )
    return table


def _serving(config: Path | None, store: str | None) -> ServingConfig:
    cfg = load_serving_config(config)
    return cfg.model_copy(update={"store_url": store}) if store else cfg


def _options(config: Path | None, store: str | None) -> str:
    """The options a hinted ``churn score`` command needs to write to the same store."""
    return " ".join(filter(None, [config and f"--config {config}", store and f"--store '{store}'"]))


def _from_store(
    serving: ServingConfig, console: Console, read: Callable[[PredictionStore], Read]
) -> Read:
    """What ``read`` gets from the prediction store, saying which scoring runs it used."""
    store = PredictionStore(serving.resolved_store_url())
    try:
        with console.status(f"Reading predictions from {store.safe_url} ..."):
            got = read(store)
    finally:
        store.close()
    stored = got.stored if isinstance(got, PeriodInputs) else got
    run = stored.runs[-1]
    console.print(
        f"predictions made at {', '.join(stored.asof)} by {run.churn_model} "
        f"v{run.churn_model_version} and {run.value_model} v{run.value_model_version} "
        f"({store.safe_url})",
        highlight=False,
    )
    return got


def _need_data(data: Path | None) -> Path:
    if data is None:
        raise KpiError("--predictions FILE needs --data DIR (the data set the predictions score)")
    return data


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
) -> None:
    """Scorecards of account managers and teams: retention, value-weighted and risk-adjusted
    retention, service, sales, 100-point score, grade, rank and commission."""
    console = _console()
    try:
        cfg = load_kpi_config(config)
        p = parse_period(period)
        if predictions is None:
            serving, options = _serving(config, store), _options(config, store)
            inputs = _from_store(
                serving,
                console,
                lambda st: period_inputs(st, p, cfg.outcome, load_dataset, data, options),
            )
            ds, preds = inputs.dataset, inputs.stored.predictions
        else:
            ds = _load(_need_data(data), console)
            preds = read_frame(predictions, "predictions")
        with console.status(f"Scoring {p.label} ..."):
            frame = scorecard(ds, preds, p, cfg, managers=manager or None)
        if out is not None:
            write_frame(frame, out)
    except ChurnError as exc:
        raise _fail(exc) from None
    label = frame["period"].iloc[0]
    managers = frame[frame["level"] == "manager"].sort_values(["rank", "account_manager_id"])
    console.print(scorecard_table(managers, f"Account managers, {label}", CAPTION))
    teams = frame[frame["level"] == "team"]
    if len(teams):
        console.print(scorecard_table(teams, f"Teams, {label}"))
    unscored = managers.loc[managers["notes"].str.contains(NO_CUSTOMERS, regex=False)]
    if len(unscored):
        ids = ", ".join(unscored["account_manager_id"].astype(str))
        console.print(f"[yellow]not scored (no customers at the period start):[/] {ids}")
    if out is not None:
        console.print(f"Scorecards written to {out}")


def register(app: typer.Typer) -> None:
    """Add ``kpi`` to the ``churn`` app (``churn campaign`` lives in ``campaign.py``)."""
    app.command("kpi", help=KPI_HELP)(kpi)
