"""``churn kpi`` (scorecards and commission of a month, quarter or year) and ``churn campaign``
(whom each account manager should contact)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich import box
from rich.console import Console
from rich.table import Table

from features.dataset import Dataset
from features.errors import ChurnError
from features.loaders import load_dataset
from serving.campaign import campaign_candidates, select_by_probability, select_campaign
from serving.kpi_config import KpiError, load_kpi_config
from serving.scorecard import NO_CUSTOMERS, scorecard


def _console(stderr: bool = False) -> Console:
    """Rich console; when the output is not a terminal (logs, CI) tables get 140 columns."""
    probe = Console(stderr=stderr)
    return probe if probe.is_terminal else Console(stderr=stderr, width=140)


DataOpt = Annotated[Path, typer.Option("--data", help="Data set folder (CSV or Parquet tables).")]
PredOpt = Annotated[
    Path,
    typer.Option(
        "--predictions",
        help="Predictions (Parquet or CSV): customer_id, churn_probability, predicted_value; "
        "optional as_of (score date) and reasons.",
    ),
]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="YAML file; its kpi: section is read.")
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
CAMPAIGN_HELP = (
    "Retention campaign list: per manager, the K customers with the largest expected saved value "
    "(probability x value x success rate - cost), with their top reasons (docs/kpi.md)."
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


def kpi(
    period: Annotated[
        str, typer.Option("--period", help="Month YYYY-MM, quarter YYYY-Qn or YYYY.")
    ],
    data: DataOpt,
    predictions: PredOpt,
    config: ConfigOpt = None,
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
        ds = _load(data, console)
        preds = read_frame(predictions, "predictions")
        with console.status(f"Scoring {period} ..."):
            frame = scorecard(ds, preds, period, cfg, managers=manager or None)
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


def campaign(
    asof: Annotated[str, typer.Option("--asof", help="Campaign date YYYY-MM-DD (portfolio date).")],
    predictions: PredOpt,
    data: DataOpt,
    out: Annotated[Path, typer.Option("--out", help="Campaign list, .csv or .parquet.")],
    capacity: Annotated[
        int | None, typer.Option("--capacity", help="Contacts per manager (default: config).")
    ] = None,
    cost: Annotated[
        float | None, typer.Option("--cost", help="Cost of one contact (default: config).")
    ] = None,
    success_rate: Annotated[
        float | None,
        typer.Option("--success-rate", help="Share of contacted churners kept (default: config)."),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Whom each account manager should contact: the K customers with the largest expected
    saved value (probability x value x success rate - cost), with their top reasons."""
    console = _console()
    try:
        cfg = load_kpi_config(config)
        k = cfg.campaign.capacity_per_manager if capacity is None else capacity
        c = cfg.campaign.cost_per_contact if cost is None else cost
        s = cfg.campaign.success_rate if success_rate is None else success_rate
        try:
            when = pd.Timestamp(asof).normalize()
        except ValueError:
            raise KpiError(f"--asof {asof!r} is not a date (expected YYYY-MM-DD)") from None
        ds = _load(data, console, as_of=asof)
        preds = read_frame(predictions, "predictions")
        candidates = campaign_candidates(ds, preds, when, cfg.outcome)
        chosen = select_campaign(candidates, k, c, s)
        naive = select_by_probability(candidates, k, c, s)
        if "reasons" in chosen.columns:
            chosen["reasons"] = chosen["reasons"].map(_reason_text)
        write_frame(chosen, out)
    except ChurnError as exc:
        raise _fail(exc) from None
    table = Table(
        title=f"Campaign {when:%Y-%m-%d}: up to {k} contacts per manager", header_style="bold"
    )
    for h in ("Manager", "Contacts", "Value at risk", "Expected saved value"):
        table.add_column(h, justify="left" if h == "Manager" else "right")
    per = chosen.groupby("account_manager_id")[["value_at_risk", "expected_saved_value"]]
    summary = per.sum().join(chosen.groupby("account_manager_id").size().rename("n"))
    for mid, r in summary.iterrows():
        table.add_row(
            str(mid), str(r["n"]), _num(r["value_at_risk"]), _num(r["expected_saved_value"])
        )
    console.print(table)
    console.print(
        f"Expected saved value {chosen['expected_saved_value'].sum():,.0f} against "
        f"{naive['expected_saved_value'].sum():,.0f} for the {k} highest probabilities per manager "
        f"(cost {c:g}, success rate {s:g}). List written to {out}"
    )


def _reason_text(value: object) -> object:
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
        items = value.tolist() if hasattr(value, "tolist") else value
        return "; ".join(map(str, items))
    return value


def register(app: typer.Typer) -> None:
    """Add ``kpi`` and ``campaign`` to the ``churn`` app."""
    app.command("kpi", help=KPI_HELP)(kpi)
    app.command("campaign", help=CAMPAIGN_HELP)(campaign)
