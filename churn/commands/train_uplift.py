"""``churn train-uplift``: learn who a past randomised campaign changed, from a file with one row
per customer (its arm and its outcome), and register ``<name>-uplift-model@champion``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.cells import cell_len

from churn.commands._options import LangOpt, reasons_language
from churn.commands._output import fail, messages, shown_value
from core.errors import ChurnError
from core.lang import catalogue, value_name
from core.notes import say as said_in

words = catalogue("cli")


def train_uplift(
    file: Path = typer.Argument(
        ..., metavar="FILE", help="The campaign file: CSV, TSV or whitespace text, Parquet, .xlsx."
    ),
    treatment: str = typer.Option(..., "--treatment", help="Column of the arm each row got."),
    control: str | None = typer.Option(
        None, "--control", help="The control arm's value (default: guessed: 0, no, control...)."
    ),
    arm: str | None = typer.Option(
        None, "--arm", help="Learn this arm against the control (default: other arms pooled)."
    ),
    outcome: str = typer.Option(
        ..., "--outcome", help="Outcome column after the campaign: binary (0/1, yes/no) or numeric."
    ),
    id_column: str | None = typer.Option(None, "--id", help="Customer id column."),
    value: str | None = typer.Option(None, "--value", help="Customer value column (a feature)."),
    drop: list[str] = typer.Option(  # noqa: B008
        [], "--drop", help="A column measured after the campaign (leaks the outcome); repeatable."
    ),
    name: str | None = typer.Option(
        None, "--name", help="Data set name; the model is <name>-uplift-model (default: file name)."
    ),
    tracking_uri: str | None = typer.Option(
        None, help="MLflow tracking URI (default: MLFLOW_TRACKING_URI, else SQLite in home)."
    ),
    lang: LangOpt = "en",
) -> None:
    """Train the uplift model of a past campaign: the learner with the best cross-validated Qini
    among an X-learner, two models and transformed-outcome learners (LightGBM and linear), judged
    on a 30% holdout stratified by arm and outcome against random and the other learners."""
    console = messages()
    language = reasons_language(lang)

    def say(key: str, **values: object) -> str:
        return words.t(key, language, **values)

    try:
        from core.registry import resolve_uri
        from training.uplift.campaign import leak_warnings, read_campaign_file
        from training.uplift.campaign_job import LEARNER_NAMES, register_campaign, train_campaign

        with console.status(say("reading", path=file.name)):
            campaign = read_campaign_file(
                file,
                treatment=treatment,
                outcome=outcome,
                control=control,
                arm=arm,
                id_column=id_column,
                value=value,
                drop=tuple(drop),
                name=name,
            )
        for note in campaign.notes:
            shown = said_in(note, language)
            console.print(f"[yellow]{say('note_prefix')}[/yellow] {shown}", highlight=False)
        for warning in leak_warnings(campaign):
            shown = said_in(warning, language)
            said = f"[bold yellow]{say('warning')}[/bold yellow] {shown}"
            console.print(said, highlight=False)
        t = campaign.frame["treated"]
        line = say(
            "uplift_read",
            file=file.name,
            n=len(t),
            treated=int(t.sum()),
            control=int((1 - t).sum()),
            features=len(campaign.features),
            outcome=outcome,
            kind=shown_value("outcome_kind", campaign.outcome_kind, language),
        )
        console.print(line, highlight=False)
        with console.status(say("uplift_choosing")):
            result = train_campaign(campaign)
        learner = {
            k: value_name("uplift_learner", k, language) or v for k, v in LEARNER_NAMES.items()
        }
        cv = ", ".join(f"{learner[k]} {v:.4f}" for k, v in result.cv_qini.items())
        rankings = {LEARNER_NAMES[k]: learner[k] for k in LEARNER_NAMES}
        rankings |= {f"model: {n}": say("uplift_chosen", name=rankings[n]) for n in [*rankings]}
        rankings["random"] = say("uplift_random")
        console.print(say("uplift_cv", cv=cv), highlight=False)
        console.print(say("uplift_holdout", n=result.holdout_rows), highlight=False)
        for ranking, row in result.evaluation.iterrows():
            shown = rankings.get(str(ranking), str(ranking))
            shown += " " * max(1, 41 - cell_len(shown))  # Chinese characters are two cells wide
            console.print(
                f"  {shown}Qini {row['qini']:+.4f} [{row['qini_low']:+.4f}, "
                f"{row['qini_high']:+.4f}]  AUUC {row['auuc']:+.4f} [{row['auuc_low']:+.4f}, "
                f"{row['auuc_high']:+.4f}]",
                highlight=False,
            )
        uri = resolve_uri(tracking_uri)
        model_name = f"{campaign.name}-uplift-model"
        with console.status(say("uplift_registering")):
            version, run_id = register_campaign(result, model_name, uri)
        said = say("uplift_registered", model=model_name, version=version, run=run_id)
        console.print(said, highlight=False)
        console.print(say("uplift_snippet"), highlight=False)
        console.print(
            f"  python -c \"import mlflow, pandas as pd; mlflow.set_tracking_uri('{uri}'); "
            f"m = mlflow.pyfunc.load_model('models:/{model_name}@champion'); "
            f"print(m.predict(pd.read_csv('{file.resolve()}')).head())\"",
            highlight=False,
            soft_wrap=True,
        )
    except ChurnError as exc:
        raise fail(exc, language) from None


def register(app: typer.Typer) -> None:
    """Add ``train-uplift`` to the ``churn`` app."""
    app.command("train-uplift")(train_uplift)
