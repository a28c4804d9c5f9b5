"""How ``churn`` commands print and write their results: consoles, output formats (a table for
people, CSV or JSON for programs), the result tables several commands share, and result files.

This module is imported while the commands are registered (``churn --help``), so at top level it
imports only the standard library, typer, rich and light project modules; pandas is imported
inside the functions.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from core.errors import ChurnError
from core.lang import Lang, catalogue, value_name

t = catalogue("cli").t

if TYPE_CHECKING:
    import pandas as pd

    from features.dataset import Dataset
    from training.evaluation.compare import Evaluation


def wide_console(stderr: bool = False) -> Console:
    """Rich console; when the output is not a terminal (logs, CI) tables get 140 columns."""
    probe = Console(stderr=stderr)
    return probe if probe.is_terminal else Console(stderr=stderr, width=140)


# --- output formats: a table for people, CSV or JSON for programs -------------------------------


class Fmt(StrEnum):
    """What a command prints on stdout: rich tables, or the same rows as CSV or JSON."""

    table = "table"
    csv = "csv"
    json = "json"


FormatOpt = Annotated[
    Fmt,
    typer.Option(
        "--format",
        case_sensitive=False,
        help="Output: table (for people), csv or json (only the data on stdout; messages and "
        "progress go to stderr).",
    ),
]


def messages(fmt: Fmt = Fmt.table) -> Console:
    """The console for messages and progress: stdout with tables, stderr with CSV or JSON, so
    that stdout holds only the data."""
    return wide_console(stderr=fmt is not Fmt.table)


def print_table(table: Table, console: Console | None = None) -> None:
    """Print a rich table; when the output is not a terminal (a pipe, a log file) the console is
    made as wide as the table, so ids and numbers are never folded or cut."""
    console = console or Console()
    if console.is_terminal:
        console.print(table)
        return
    title, caption = table.title, table.caption  # measured without them: they wrap, cells must not
    table.title = table.caption = None
    width = Console(file=io.StringIO(), width=100_000).measure(table).maximum
    table.title, table.caption = title, caption
    Console(file=console.file, width=max(width, 80)).print(table)


@dataclass(frozen=True)
class Section:
    """One table of a command's output: its rows as data (for CSV and JSON) and as people read
    them; ``in_csv=False`` sends it to stderr as a table under ``--format csv`` (a summary next
    to the list that the CSV holds)."""

    name: str
    frame: pd.DataFrame
    table: Table
    in_csv: bool = True


WHOLE_COLUMNS = frozenset({"rank", "portfolio_start", "contacts", "read", "accepted", "rejected"})
"""Columns that hold whole numbers, though a missing value may have made them float."""


def machine_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as CSV and JSON carry it: ranks and counts as integers (also where a missing
    value made them float), categories as text."""
    import pandas as pd

    out = frame.reset_index(drop=True).copy()
    for col in out.columns:
        s = out[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            out[col] = s.astype("string")
        elif s.dtype.kind == "f" and col in WHOLE_COLUMNS:
            known = s.dropna()
            if bool((known == known.round()).all()):
                out[col] = s.astype("Int64")
    return out


def emit(sections: Sequence[Section], fmt: Fmt) -> None:
    """Print a command's tables: rich tables (``table``), one CSV (with a ``table`` column naming
    the section when there are several), or one JSON object ``{section: [rows]}``."""
    if fmt is Fmt.table:
        for s in sections:
            print_table(s.table)
        return
    import pandas as pd

    if fmt is Fmt.json:
        import json

        data = {
            s.name: json.loads(machine_frame(s.frame).to_json(orient="records")) for s in sections
        }
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        return
    for s in sections:
        if not s.in_csv:
            print_table(s.table, wide_console(stderr=True))
    shown = [s for s in sections if s.in_csv]
    if len(shown) == 1:
        frame = machine_frame(shown[0].frame)
    else:
        frame = pd.concat(
            [machine_frame(s.frame).assign(table=s.name) for s in shown], ignore_index=True
        )
        frame = frame[["table", *[c for c in frame.columns if c != "table"]]]
    from core.csv_out import to_csv_text

    sys.stdout.write(to_csv_text(frame))


def fail(exc: ChurnError, lang: Lang = "en") -> typer.Exit:
    """Print a user error on stderr (its label in ``lang``); the ``typer.Exit(2)`` to raise."""
    said = f"[bold red]{t('error', lang)}[/] {exc.said(lang)}"
    wide_console(stderr=True).print(said, highlight=False)
    return typer.Exit(2)


# --- tables -------------------------------------------------------------------------------------


def report_frame(ds: Dataset) -> pd.DataFrame:
    """Read / accepted / rejected counts per table, as data."""
    import pandas as pd

    rows = [
        (r.table, r.source, r.read, r.accepted, r.rejected, ", ".join(r.missing_optional_columns))
        for r in ds.reports.values()
    ]
    cols = ["table", "file", "read", "accepted", "rejected", "optional_columns_absent"]
    return pd.DataFrame(rows, columns=cols)


def report_table(ds: Dataset, title: str, lang: Lang = "en") -> Table:
    """A rich table of read / accepted / rejected counts per table."""
    table = Table(title=title)
    for col in ("table", "file", "read", "accepted", "rejected", "optional_absent"):
        table.add_column(
            t(f"h_{col}", lang),
            justify="right" if col in ("read", "accepted", "rejected") else "left",
        )
    for r in ds.reports.values():
        table.add_row(
            shown_value("table", r.table, lang),
            r.source,
            f"{r.read:,}",
            f"{r.accepted:,}",
            f"{r.rejected:,}",
            ", ".join(r.missing_optional_columns) or "-",
        )
    return table


CHURN_SHOWN = ("roc_auc", "pr_auc", "log_loss", "brier", "ece", "top_decile_lift")
VALUE_SHOWN = ("mae", "rmse", "spearman", "gini", "top_decile_value_capture")


def metrics_table(ev: Evaluation, kind: str, columns: tuple[str, ...], lang: Lang = "en") -> Table:
    """Test metrics of the model and its baselines as a rich table."""
    frame = ev.table(kind)
    table = Table(title=t("metrics_title", lang, kind=t(f"kind_{kind}", lang)))
    table.add_column(t("h_scorer", lang))
    for c in columns:
        table.add_column(t(f"m_{c}", lang), justify="right")
    for name, row in frame.iterrows():
        table.add_row(shown_value("scorer", name, lang), *(f"{row[c]:,.4f}" for c in columns))
    return table


def metrics_sections(ev: Evaluation, title: str | None = None, lang: Lang = "en") -> list[Section]:
    """The churn and value metrics tables (those evaluated) as output sections; ``title`` gets
    the model kind (default: the model against its baselines on the test cutoff)."""
    sections = []
    for kind, columns in (("churn", CHURN_SHOWN), ("value", VALUE_SHOWN)):
        if not getattr(ev, kind):
            continue
        table = metrics_table(ev, kind, columns, lang)
        if title is not None:
            table.title = title.format(kind=t(f"kind_{kind}", lang))
        frame = ev.table(kind)[list(columns)].rename_axis("scorer").reset_index()
        sections.append(Section(kind, frame, table))
    return sections


def shown_value(column: str, value: object, lang: Lang) -> str:
    """A fixed value of ``column`` as people read it in ``lang`` (``values.yaml``); English, and
    values the catalogue does not name, as they are."""
    text = str(value)
    return (value_name(column, text, lang) or text) if lang != "en" else text


def pct(x: float) -> str:
    """A share as ``12.3%``; ``-`` when missing."""
    import pandas as pd

    return "-" if pd.isna(x) else f"{100 * x:.1f}%"


def num(x: float, fmt: str = ",.0f") -> str:
    """A number in ``fmt``; ``-`` when missing."""
    import pandas as pd

    return "-" if pd.isna(x) else format(x, fmt)


def _flags(row: pd.Series, lang: Lang = "en") -> str:
    names = [("first_place", "top"), ("last_place", "last"), ("improvement_plan", "plan"),
             ("probation", "probation")]  # fmt: skip
    return " ".join(t(f"flag_{key}", lang) for col, key in names if bool(row.get(col)) is True)


def scorecard_caption(lang: Lang = "en") -> str:
    """What the scorecard table's short headers mean."""
    return t("scorecard_caption", lang)


SCORECARD_CAPTION = scorecard_caption()


SCORECARD_COLUMNS = ("account_manager_id", "team", "portfolio_start", "churn_rate",
                     "value_weighted_retention", "risk_adjusted_retention", "satisfaction",
                     "sales_vs_quota", "score", "grade", "rank")  # fmt: skip


INDICATOR_COLUMNS = ("repeat_purchase_rate", "contact_response_rate", "contact_conversion_rate",
                     "avg_contact_cost", "upsell_rate", "new_customers", "complaint_rate")  # fmt: skip
"""The CRM indicators (``kpi.indicators``) shown beside the score; ``satisfaction`` is above."""


def scorecard_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The scorecard columns of :func:`scorecard_table` as data, with ``flags``, ``payout`` and
    the CRM indicators that the scorecards hold."""
    out = frame[list(SCORECARD_COLUMNS)].copy()
    out["flags"] = [_flags(r) for _, r in frame.iterrows()]
    out["payout"] = frame["payout"]
    for col in (*INDICATOR_COLUMNS, *ASSESSMENT_COLUMNS):
        if col in frame.columns:
            out[col] = frame[col]
    return out


ASSESSMENT_COLUMNS = ("probation", "satisfaction_source", "points_big_customers", "performance",
                      "ability", "attitude", "annual_score", "annual_grade")  # fmt: skip
"""Document 000's assessment rules (``kpi.assessment``), when the scorecards hold them."""


def indicator_table(frame: pd.DataFrame, title: str, lang: Lang = "en") -> Table:
    """The CRM indicators of scorecard rows (managers, then teams) as a terminal table."""
    import pandas as pd

    table = Table(
        title=title,
        header_style="bold",
        box=box.SIMPLE_HEAD,
        caption=t("indicator_caption", lang),
        caption_justify="left",
    )
    heads = ["manager", "team", "repeat", "response", "conversion", "cost_contact", "upsell",
             "new", "complaint", "csat"]  # fmt: skip
    for h in heads:
        table.add_column(t(f"h_{h}", lang), justify="left" if h in ("manager", "team") else "right")
    for _, r in frame.iterrows():
        table.add_row(
            str(r["account_manager_id"]) if pd.notna(r["account_manager_id"]) else "",
            str(r["team"]) if pd.notna(r["team"]) else "",
            pct(r.get("repeat_purchase_rate", float("nan"))),
            pct(r.get("contact_response_rate", float("nan"))),
            pct(r.get("contact_conversion_rate", float("nan"))),
            num(r.get("avg_contact_cost", float("nan")), ",.2f"),
            pct(r.get("upsell_rate", float("nan"))),
            num(r.get("new_customers", float("nan")), ".0f"),
            pct(r.get("complaint_rate", float("nan"))),
            pct(r["satisfaction"]),
        )
    return table


def scorecard_table(
    frame: pd.DataFrame, title: str, caption: str | None = None, lang: Lang = "en"
) -> Table:
    """A readable terminal table of scorecard rows (managers or teams)."""
    import pandas as pd

    table = Table(
        title=title,
        header_style="bold",
        box=box.SIMPLE_HEAD,
        caption=caption,
        caption_justify="left",
    )
    heads = ["manager", "team", "book", "churn", "vwr", "rar", "csat", "sales_quota", "score",
             "grade", "rank", "flags", "payout"]  # fmt: skip
    for h in heads:
        table.add_column(
            t(f"h_{h}", lang),
            justify="left" if h in ("manager", "team", "grade", "flags") else "right",
        )
    for _, r in frame.iterrows():  # one row per manager or team, for display only
        table.add_row(
            str(r["account_manager_id"]) if pd.notna(r["account_manager_id"]) else "",
            str(r["team"]) if pd.notna(r["team"]) else "",
            num(r["portfolio_start"]),
            pct(r["churn_rate"]),
            num(r["value_weighted_retention"], ".3f"),
            num(r["risk_adjusted_retention"], ".3f"),
            pct(r["satisfaction"]),
            pct(r["sales_vs_quota"]),
            num(r["score"], ".2f"),
            (value_name("grade", r["grade"], lang) or str(r["grade"]))
            if pd.notna(r["grade"])
            else "-",
            num(r["rank"], ".0f"),
            _flags(r, lang),
            num(r["payout"], ",.0f"),
        )
    return table


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    """Write CSV or Parquet by the file's suffix."""
    from kpi.config import KpiError

    if path.suffix not in (".csv", ".parquet"):
        raise KpiError(f"output {path} must end in .csv or .parquet")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        from core.csv_out import write_csv

        write_csv(frame, path)


def load_snippet(tracking_uri: str, model: str, frame: str) -> str:
    """Python lines that load ``model@champion`` from a fresh shell and score ``frame``: the
    tracking URI is set first, so MLflow neither misses the registry nor creates a store in the
    working folder."""
    return (
        "  import mlflow\n"
        f"  mlflow.set_tracking_uri({tracking_uri!r})\n"
        f'  model = mlflow.pyfunc.load_model("models:/{model}@champion")\n'
        f"  model.predict(frame)  # frame: {frame}"
    )
