"""``churn campaign``: whom each account manager should contact in a retention campaign.

Reads the predictions made at the campaign date from the batch-scoring store by default, with the
data folder that scoring read; ``--predictions FILE`` and ``--data DIR`` override them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from churn.commands._shared import (
    ConfigOpt,
    DataOpt,
    Fmt,
    FormatOpt,
    PredOpt,
    Section,
    StoreOpt,
    emit,
    fail,
    from_store,
    load_data,
    messages,
    need_data,
    num,
    read_frame,
    score_options,
    serving_config,
    write_frame,
)
from core.errors import ChurnError
from core.paths import home

CAMPAIGN_HELP = (
    "Retention campaign list: per manager, the K customers with the largest expected saved value "
    "(probability x value x success rate - cost), with their top reasons (docs/kpi.md)."
)


def campaign(
    asof: Annotated[str, typer.Option("--asof", help="Campaign date YYYY-MM-DD (portfolio date).")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Campaign list, .csv or .parquet (default: $CHURN_HOME/campaigns/campaign_<asof>.csv).",
        ),
    ] = None,
    predictions: PredOpt = None,
    data: DataOpt = None,
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
    store: StoreOpt = None,
    reasons: Annotated[
        bool,
        typer.Option(
            "--reasons/--no-reasons",
            help="With store predictions: explain each chosen customer with the champion "
            "churn model (top 3 reasons).",
        ),
    ] = True,
    fmt: FormatOpt = Fmt.table,
) -> None:
    """Whom each account manager should contact: the K customers with the largest expected
    saved value (probability x value x success rate - cost), with their top reasons."""
    import pandas as pd

    from kpi.campaign import campaign_candidates, select_by_probability, select_campaign
    from kpi.config import KpiError, load_kpi_config
    from serving.kpi_inputs import champion_reasons, data_folder, read_predictions

    console = messages(fmt)
    note = ""
    try:
        cfg = load_kpi_config(config)
        k = cfg.campaign.capacity_per_manager if capacity is None else capacity
        c = cfg.campaign.cost_per_contact if cost is None else cost
        s = cfg.campaign.success_rate if success_rate is None else success_rate
        try:
            when = pd.Timestamp(asof).normalize()
        except ValueError:
            raise KpiError(f"--asof {asof!r} is not a date (expected YYYY-MM-DD)") from None
        stored = None
        if predictions is None:
            serving = serving_config(config, store)
            options = score_options(config, store)
            stored = from_store(
                serving, console, lambda st: read_predictions(st, [when], data, options)
            )
            data = data_folder(stored, data)
            preds = stored.predictions
        else:
            data = need_data(data)
            preds = read_frame(predictions, "predictions")
        ds = load_data(data, console, as_of=asof)
        candidates = campaign_candidates(ds, preds, when, cfg.outcome)
        chosen = select_campaign(candidates, k, c, s)
        naive = select_by_probability(candidates, k, c, s)
        if stored is not None and reasons and len(chosen):
            with console.status("Explaining the chosen customers ..."):
                found, note = champion_reasons(serving, stored.runs[-1], chosen["customer_id"])
            if found is not None:
                chosen["reasons"] = found.to_numpy()
        if "reasons" in chosen.columns:
            chosen["reasons"] = chosen["reasons"].map(_reason_text)
        out = out or home() / "campaigns" / f"campaign_{when:%Y-%m-%d}.csv"
        write_frame(chosen, out)
    except ChurnError as exc:
        raise fail(exc) from None
    table = Table(
        title=f"Campaign {when:%Y-%m-%d}: up to {k} contacts per manager", header_style="bold"
    )
    for h in ("Manager", "Contacts", "Value at risk", "Expected saved value"):
        table.add_column(h, justify="left" if h == "Manager" else "right")
    per = chosen.groupby("account_manager_id", observed=True)
    summary = per[["value_at_risk", "expected_saved_value"]].sum()
    summary.insert(0, "contacts", per.size())
    for mid, r in summary.iterrows():
        table.add_row(
            str(mid),
            f"{r['contacts']:.0f}",
            num(r["value_at_risk"]),
            num(r["expected_saved_value"]),
        )
    emit([Section("managers", summary.reset_index(), table)], fmt)
    if note:
        console.print(note, highlight=False)
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
    """Add ``campaign`` to the ``churn`` app."""
    app.command("campaign", help=CAMPAIGN_HELP)(campaign)
