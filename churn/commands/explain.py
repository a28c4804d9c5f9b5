"""``churn explain``: one customer's reasons and SHAP waterfall, or the global drivers of churn."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from churn.commands._options import LangOpt, reasons_language
from churn.commands._output import Fmt, FormatOpt, Section, emit, messages
from core.lang import Lang, catalogue
from core.paths import home

t = catalogue("cli").t

if TYPE_CHECKING:
    import pandas as pd

    from scoring.config import ServingConfig

console = Console()
"""Messages and progress: stdout with ``--format table``, stderr with csv or json."""

EXPLAIN_HELP = (
    "Why a customer is at risk (--customer-id: top reasons and a SHAP waterfall PNG), or what "
    "drives churn across the base (--global: beeswarm, bar, dependence and driver plots). Rows "
    "come from the batch-scoring store, or from --data DIR at --asof DATE."
)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name) or "customer"


def _value(v: object, lang: Lang = "en") -> str:
    if v is None:
        return t("missing", lang)
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1e4 else f"{v:.4g}"
    return str(v)


def reasons_table(e, lang: Lang) -> Table:
    """One customer's explanation: the reasons with their feature values and log-odds."""
    title = t(
        "customer_title", lang, id=e.customer_id, p=e.probability, raw=e.raw_score,
        base=e.base_value,
    )  # fmt: skip
    table = Table(title=title, header_style="bold")
    for col in ("#", "reason", "feature", "value", "log-odds"):
        table.add_column(
            t(col, lang) if col != "#" else col,
            justify="right" if col in ("#", "log-odds") else "left",
        )
    for rank, r in enumerate(e.reasons, start=1):
        value = _value(r.value, lang)
        colour = "red" if r.contribution > 0 else "green"
        table.add_row(
            str(rank), r.sentence, r.feature, value, f"[{colour}]{r.contribution:+.3f}[/{colour}]"
        )
    return table


def reasons_frame(e) -> pd.DataFrame:
    """One customer's reasons as data: rank, sentence, feature, its value and log-odds."""
    import pandas as pd

    rows = [
        (e.customer_id, rank, r.sentence, r.feature, r.value, r.contribution)
        for rank, r in enumerate(e.reasons, start=1)
    ]
    cols = ["customer_id", "rank", "reason", "feature", "value", "log_odds"]
    frame = pd.DataFrame(rows, columns=cols)
    frame["value"] = frame["value"].astype(object)  # numbers and category labels side by side
    return frame


def _horizon_line(churn) -> str:
    """Which horizon the explained churn probability is over."""
    h = churn.metadata.get("horizon_days")
    return f"churn over the next {h} days (the model's horizon)" if h else "horizon not recorded"


def explain_one(
    customer_id: str,
    lang: Lang,
    top: int,
    data: Path | None,
    asof: str | None,
    out: Path | None,
    cfg: ServingConfig,
    fmt: Fmt = Fmt.table,
) -> None:
    """Print one customer's reasons and write their waterfall PNG."""
    from reports.explain_local import explain_customers, select_customers, write_waterfall
    from reports.sources import champions_for, rows_from_data, rows_from_store, version_note

    with console.status("loading the champion model and the customer's features") as status:
        champions = champions_for(cfg)
        if data is not None:
            status.update(f"building features from {data}")
            rows = rows_from_data(data, asof, champions, cfg)
        else:
            rows = rows_from_store(cfg, asof, customer_ids=[customer_id])
        found = select_customers(rows.features, [customer_id])
        e = explain_customers(champions.churn, found, k=top, lang=lang)[0]
    note = version_note(rows, champions)
    if note:
        console.print(f"[yellow]{t('note', lang)}:[/] {note}")
    emit([Section("reasons", reasons_frame(e), reasons_table(e, lang))], fmt)
    console.print(_horizon_line(champions.churn), highlight=False)
    path = out or home() / "explain" / rows.asof / f"{_safe(customer_id)}.png"
    if path.suffix.lower() != ".png":
        path = path / f"{_safe(customer_id)}.png"
    write_waterfall(e, path)
    console.print(t("as_of_waterfall", lang, asof=rows.asof, source=rows.source, path=path))


def explain_global(
    data: Path | None,
    asof: str | None,
    sample: int,
    out: Path | None,
    cfg: ServingConfig,
    lang: Lang = "en",
    fmt: Fmt = Fmt.table,
) -> None:
    """Print the top drivers of churn across the base and write the global plots."""
    from reports.explain_global import global_explanation, importance, write_global
    from reports.sources import champions_for, rows_from_data, rows_from_store

    with console.status("loading the champion model and the customers' features") as status:
        champions = champions_for(cfg)
        if data is not None:
            status.update(f"building features from {data}")
            rows = rows_from_data(data, asof, champions, cfg)
        else:
            rows = rows_from_store(cfg, asof, sample=sample)
        status.update("computing SHAP values")
        g = global_explanation(champions.churn, rows.features, sample=sample)
        target = out or home() / "explain" / f"global_{rows.asof}"
        status.update(f"drawing plots into {target}")
        written = write_global(g, target, lang=lang)
    title = t("drivers_title", lang, n=len(g.contributions), asof=rows.asof)
    table = Table(title=title)
    for col in ("feature", "mean |SHAP|", "mean SHAP"):
        table.add_column(t(col, lang), justify="left" if col == "feature" else "right")
    top = importance(g).head(10)
    for name, r in top.iterrows():
        table.add_row(str(name), f"{r['mean_abs_shap']:.3f}", f"{r['mean_shap']:+.3f}")
    frame = top[["mean_abs_shap", "mean_shap"]].rename_axis("feature").reset_index()
    emit([Section("drivers", frame, table)], fmt)
    console.print(_horizon_line(champions.churn), highlight=False)
    console.print(
        t("files_written", lang, n=len(written), target=target, method=g.method), highlight=False
    )


def explain(
    customer_id: str | None = typer.Option(
        None, "--customer-id", help="Explain this customer's score."
    ),
    global_: bool = typer.Option(
        False, "--global", help="Explain the whole base: global plots and drivers."
    ),
    lang: LangOpt = "en",
    top: int = typer.Option(5, "--top", min=1, max=50, help="Reasons to show."),
    data: Path | None = typer.Option(
        None, "--data", help="Build features from this data folder instead of the store."
    ),
    asof: str | None = typer.Option(
        None, "--asof", help="As-of date YYYY-MM-DD (default: latest scoring / data's)."
    ),
    sample: int = typer.Option(
        2000, "--sample", min=100, help="Customers sampled for --global plots."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Waterfall PNG file, or folder for --global plots."
    ),
    config: Path | None = typer.Option(
        None, "--config", help="YAML file; reads its serving: section (models, store)."
    ),
    fmt: FormatOpt = Fmt.table,
) -> None:
    from reports.explain_global import ExplainError
    from scoring.config import load_serving_config

    if (customer_id is None) == (not global_):
        raise ExplainError("give exactly one of --customer-id ID or --global")
    global console
    console = messages(fmt)
    language = reasons_language(lang)
    cfg = load_serving_config(config)
    if customer_id is None:  # --global
        explain_global(data, asof, sample, out, cfg, language, fmt)
    else:
        explain_one(customer_id, language, top, data, asof, out, cfg, fmt)


def register(app: typer.Typer) -> None:
    """Add ``explain`` to the ``churn`` app."""
    app.command("explain", help=EXPLAIN_HELP)(explain)
