"""``churn store``: the serving store's schema. ``upgrade`` brings a store to this release's
schema (what the first command that opens it does anyway), or prints the SQL with ``--sql``;
``version`` says which revision a store is at."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

console = Console()
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
) -> None:
    """Upgrade the store's schema in place, keeping every row; run it before starting a new
    release's service, or let the first command that opens the store do it."""
    from churn.commands._inputs import serving_config
    from churn.commands._output import fail
    from core.errors import ChurnError
    from scoring.store.migrate import upgrade_sql
    from scoring.store.predictions import safe_url, upgrade_store

    try:
        url = serving_config(config, store).resolved_store_url()
        if sql:
            typer.echo(upgrade_sql(url), nl=False)
            return
        done = upgrade_store(url)
    except ChurnError as exc:
        raise fail(exc) from None
    if done.before == done.after:
        console.print(f"store {safe_url(url)}: schema {done.after}, up to date", highlight=False)
    else:
        console.print(
            f"store {safe_url(url)}: schema upgraded from {done.before or 'none'} to {done.after}",
            highlight=False,
        )


@store_app.command("version")
def version(config: Path | None = CONFIG, store: str | None = STORE) -> None:
    """Print the store's schema revision and this release's newest."""
    from churn.commands._inputs import serving_config
    from churn.commands._output import fail
    from core.errors import ChurnError
    from scoring.store.predictions import safe_url, store_version

    try:
        url = serving_config(config, store).resolved_store_url()
        found = store_version(url)
    except ChurnError as exc:
        raise fail(exc) from None
    state = (
        "up to date"
        if found.before == found.after
        else "needs `churn store upgrade` (or any command that opens it)"
    )
    console.print(
        f"store {safe_url(url)}: schema {found.before or 'none'} "
        f"(this release: {found.after}), {state}",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add ``store`` to the ``churn`` app."""
    app.add_typer(store_app, name="store")
