"""``churn store``: the serving store's schema. ``upgrade`` brings a store to this release's
schema (what the first command that opens it does anyway), or prints the SQL with ``--sql``;
``version`` says which revision a store is at."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from churn.commands._options import LangOpt, reasons_language
from core.lang import catalogue

console = Console()
t = catalogue("cli").t
store_app = typer.Typer(
    help="The serving store's schema: upgrade it (or print the SQL), show its version.",
    no_args_is_help=True,
)

CONFIG = typer.Option(None, "--config", help="YAML file; its serving: section names the store.")
STORE = typer.Option(
    None, "--store", help="SQLAlchemy URL of the serving store (overrides config)."
)


@store_app.command("upgrade")
def upgrade(
    config: Path | None = CONFIG,
    store: str | None = STORE,
    sql: bool = typer.Option(
        False,
        "--sql",
        help="Print the SQL that creates the store's schema in the store's kind of database "
        "(for a DBA to run), and change nothing.",
    ),
    lang: LangOpt = "en",
) -> None:
    """Upgrade the store's schema in place, keeping every row; run it before starting a new
    release's service, or let the first command that opens the store do it."""
    from churn.commands._inputs import serving_config
    from churn.commands._output import fail
    from core.errors import ChurnError
    from scoring.store.migrate import upgrade_sql
    from scoring.store.predictions import safe_url, upgrade_store

    language = reasons_language(lang)
    try:
        url = serving_config(config, store).resolved_store_url()
        if sql:
            typer.echo(upgrade_sql(url), nl=False)
            return
        done = upgrade_store(url)
    except ChurnError as exc:
        raise fail(exc, language) from None
    if done.before == done.after:
        said = t("store_up_to_date", language, url=safe_url(url), after=done.after)
    else:
        before = done.before or t("store_none", language)
        said = t("store_upgraded", language, url=safe_url(url), before=before, after=done.after)
    console.print(said, highlight=False)


@store_app.command("version")
def version(config: Path | None = CONFIG, store: str | None = STORE, lang: LangOpt = "en") -> None:
    """Print the store's schema revision and this release's newest."""
    from churn.commands._inputs import serving_config
    from churn.commands._output import fail
    from core.errors import ChurnError
    from scoring.store.predictions import safe_url, store_version

    language = reasons_language(lang)
    try:
        url = serving_config(config, store).resolved_store_url()
        found = store_version(url)
    except ChurnError as exc:
        raise fail(exc, language) from None
    state = t("store_state_ok" if found.before == found.after else "store_state_old", language)
    before = found.before or t("store_none", language)
    url_shown = safe_url(url)
    said = t(
        "store_version", language, url=url_shown, before=before, after=found.after, state=state
    )
    console.print(said, highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``store`` to the ``churn`` app."""
    app.add_typer(store_app, name="store")
