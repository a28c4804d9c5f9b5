"""``churn campaign``: whom each account manager should contact in a retention campaign.

Reads the predictions made at the campaign date from the batch-scoring store by default, with the
data folder that scoring read; ``--predictions FILE`` and ``--data DIR`` override them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from churn.commands._inputs import (
    champion_effects,
    from_store,
    load_folder,
    need_data,
    read_frame,
    score_options,
    serving_config,
)
from churn.commands._options import (
    ConfigOpt,
    DataOpt,
    LangOpt,
    PredOpt,
    StoreOpt,
    reasons_language,
)
from churn.commands._output import Fmt, FormatOpt, Section, emit, fail, messages, num, write_frame
from core.errors import ChurnError
from core.lang import Lang, catalogue
from core.paths import home

if TYPE_CHECKING:
    import pandas as pd

t = catalogue("cli").t


CAMPAIGN_HELP = (
    "Retention campaign list: per manager, the K customers ranked --by uplift (expected "
    "incremental value: effect of a contact x value - cost; the default once an uplift model "
    "exists), value-at-risk (probability x value x success rate - cost) or risk, with their top "
    "reasons (docs/kpi.md, docs/uplift.md)."
)
BY_CHOICES = ("uplift", "value-at-risk", "risk")


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
        str | None,
        typer.Option(
            "--cost",
            help="Cost of one contact: a number for everybody, or the predictions' column "
            "holding each customer's cost (blank: config). Default: config, by segment and "
            "plan, and the customers table's contact_cost.",
        ),
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
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="Ranking: uplift | value-at-risk | risk (default: uplift when an uplift model "
            "is registered, else value-at-risk). Every ranking picks K per manager.",
        ),
    ] = None,
    uplift_model: Annotated[
        str | None,
        typer.Option(
            "--uplift-model",
            help="Rank --by uplift with this registered uplift model's champion (e.g. one of "
            "churn train-uplift, scored on the customers table's own columns); default: "
            "uplift-model.",
        ),
    ] = None,
    fmt: FormatOpt = Fmt.table,
    lang: LangOpt = "en",
) -> None:
    """Whom each account manager should contact: the K customers first by the chosen ranking,
    each with the expected incremental value of the contact and the top reasons."""
    import pandas as pd

    from kpi.campaign import UPLIFT
    from kpi.campaign_job import CampaignInputs, run_campaign
    from kpi.config import KpiError, load_kpi_config
    from kpi.inputs import champion_reasons, data_folder, read_predictions
    from kpi.rule_names import rule_name

    console = messages(fmt)
    language = reasons_language(lang)
    note = ""
    try:
        cfg = load_kpi_config(config)
        flat, cost_column = _cost_option(cost)
        try:
            when = pd.Timestamp(asof).normalize()
        except ValueError:
            raise KpiError(f"--asof {asof!r} is not a date (expected YYYY-MM-DD)") from None
        stored = None
        if predictions is None:
            serving = serving_config(config, store)
            options = score_options(config, store)
            stored = from_store(
                serving, console, lambda st: read_predictions(st, [when], data, options), language
            )
            data = data_folder(stored, data)
            preds = stored.predictions
        else:
            data = need_data(data)
            preds = read_frame(predictions, "predictions")
        ds = load_folder(data, console, as_of=asof, config=config, say_as_of=False, lang=language)
        if by is not None and by not in BY_CHOICES:
            raise KpiError(f"--by must be one of {', '.join(BY_CHOICES)}, got {by!r}")
        effect, found_note = champion_effects(
            ds, when, config, store, required=by == "uplift", model_name=uplift_model, lang=language
        )
        inputs = CampaignInputs(
            ds,
            preds,
            when,
            capacity=capacity,
            by=by,
            cost=flat,
            cost_column=cost_column,
            success_rate=success_rate,
            uplift=effect,
        )
        result = run_campaign(inputs, cfg)
        notes = [*result.notes, found_note]
        chosen, savings, k, by = result.chosen, result.savings, result.capacity, result.by
        if stored is not None and reasons and len(chosen):
            with console.status(t("explaining", language)):
                found, note = champion_reasons(
                    serving, stored.runs[-1], chosen["customer_id"], language
                )
            if found is not None:
                chosen["reasons"] = found.to_numpy()
        if "reasons" in chosen.columns:
            chosen["reasons"] = chosen["reasons"].map(_reason_text)
        out = out or home() / "campaigns" / f"campaign_{when:%Y-%m-%d}.csv"
        write_frame(chosen, out)
    except ChurnError as exc:
        raise fail(exc) from None
    by_name = t(f"by_{by}", language)
    table = Table(
        title=t("campaign_title", language, date=f"{when:%Y-%m-%d}", k=k, by=by_name),
        header_style="bold",
    )
    heads = ("manager", "contacts", "value_at_risk", "expected_saved", "incremental_value")
    for h in heads:
        table.add_column(t(f"h_{h}", language), justify="left" if h == "manager" else "right")
    summary = result.per_manager(incremental=True)
    for mid, r in summary.iterrows():
        table.add_row(
            str(mid),
            f"{r['contacts']:.0f}",
            num(r["value_at_risk"]),
            num(r["expected_saved_value"]),
            num(r["expected_incremental_value"]),
        )
    sections = [Section("managers", summary.reset_index(), table)]
    shown = savings.assign(rule=[rule_name(r, language) for r in savings["rule"]])
    sections.append(Section("savings", savings, _savings_table(shown, when, language)))
    emit(sections, fmt)
    for text in (note, *notes):
        if text:
            console.print(text, highlight=False)
    done = t(
        "campaign_done",
        language,
        n=f"{len(chosen):,}",
        by=by_name,
        incremental=f"{chosen['expected_incremental_value'].sum():,.0f}",
        how=t("how_uplift" if UPLIFT in chosen.columns else "how_flat", language),
        saved=f"{chosen['expected_saved_value'].sum():,.0f}",
        top_k=f"{savings['saving_vs_nobody'].iloc[1]:,.0f}",
        k=k,
        economics=_economics_text(result.cost, result.success_rate, cost_column, language),
        path=out,
    )
    console.print(done, highlight=False)


def _cost_option(cost: str | None) -> tuple[float | None, str | None]:
    """``--cost``: a number is one cost for everybody; anything else names a column."""
    if cost is None:
        return None, None
    try:
        return float(cost), None
    except ValueError:
        return None, cost


def _economics_text(cost: object, rate: object, column: str | None, lang: Lang = "en") -> str:
    def show(x: object) -> str:
        if isinstance(x, float | int):
            return f"{x:g}"
        default = getattr(x, "default", x)
        overrides = len(getattr(x, "by_segment", {})) + len(getattr(x, "by_plan", {}))
        more = t("economics_overrides", lang, n=overrides) if overrides else ""
        return f"{default:g}{more}"

    own = t("economics_own", lang, column=column) if column else ""
    return t("economics", lang, cost=show(cost), own=own, rate=show(rate))


def _savings_table(savings: pd.DataFrame, when: pd.Timestamp, lang: Lang = "en") -> Table:
    """The decision rules against contacting nobody and everybody."""
    table = Table(
        title=t("savings_title", lang, date=f"{when:%Y-%m-%d}"),
        caption=t("savings_caption", lang),
        header_style="bold",
    )
    heads = ["rule", "contacts", "cost", "expected_kept", "vs_nobody", "vs_everybody"]
    for h in heads:
        table.add_column(t(f"h_{h}", lang), justify="left" if h == "rule" else "right")
    for _, r in savings.iterrows():
        cells = [r["rule"], f"{r['contacts']:,}", num(r["cost"]), num(r["expected_kept_value"])]
        table.add_row(*cells, num(r["saving_vs_nobody"]), num(r["saving_vs_everybody"]))
    return table


def _reason_text(value: object) -> object:
    """A list of reasons as one ``;``-separated text (a CSV cell)."""
    items = value.tolist() if hasattr(value, "tolist") else value
    if isinstance(items, (list, tuple)):
        return "; ".join(map(str, items))
    return value


def register(app: typer.Typer) -> None:
    """Add ``campaign`` to the ``churn`` app."""
    app.command("campaign", help=CAMPAIGN_HELP)(campaign)
