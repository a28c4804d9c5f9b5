"""``churn users``: the people who may sign in to the retention workspace (``/ui/``), kept in the
serving store's database: ``add``, ``list`` and ``remove``."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

from churn.commands._options import LangOpt, reasons_language
from core.lang import catalogue

console = Console()
t = catalogue("cli").t
users_app = typer.Typer(
    help="Users of the retention workspace (/ui/): add, list, remove.", no_args_is_help=True
)

CONFIG = typer.Option(None, "--config", help="YAML file; its serving: section names the store.")
STORE = typer.Option(
    None, "--store", help="SQLAlchemy URL of the serving store (overrides config)."
)


def _users(config: Path | None, store: str | None):  # -> scoring.store.users.UserStore
    from churn.commands._inputs import serving_config
    from scoring.store.predictions import PredictionStore
    from scoring.store.users import UserStore

    cfg = serving_config(config, store)
    return UserStore(PredictionStore(cfg.resolved_store_url()).engine)


@users_app.command("add")
def add(
    name: str = typer.Argument(..., help="User name to sign in with."),
    role: str = typer.Option(..., "--role", help="manager, lead or analyst."),
    manager_id: str | None = typer.Option(
        None, "--manager-id", help="A manager's account_manager_id: the book they see."
    ),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
    config: Path | None = CONFIG,
    store: str | None = STORE,
    lang: LangOpt = "en",
) -> None:
    """Add a user; a manager sees only the customers of --manager-id, leads and analysts see
    every customer. The password is asked for (twice) and stored as an argon2 hash."""
    from churn.commands._output import fail, shown_value
    from scoring.store.users import UserError

    language = reasons_language(lang)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        asked = t("password", language)
        password = typer.prompt(asked, hide_input=True, confirmation_prompt=True)
    try:
        user = _users(config, store).add(name, role, password, manager_id)
    except UserError as exc:
        raise fail(exc, language) from None
    book = t("user_book", language, manager=user.manager_id) if user.manager_id else ""
    role = shown_value("role", user.role, language)
    console.print(t("user_added", language, name=user.name, role=role, book=book), highlight=False)


@users_app.command("list")
def list_users(
    config: Path | None = CONFIG, store: str | None = STORE, lang: LangOpt = "en"
) -> None:
    """List the users: name, role, book and when they were added."""
    from churn.commands._output import shown_value

    language = reasons_language(lang)
    found = _users(config, store).users()
    if not found:
        console.print(t("no_users", language), highlight=False)
    for u in found:
        role = shown_value("role", u.role, language)
        added = f"{u.created_at:%Y-%m-%d %H:%M}"
        console.print(f"{u.name}\t{role}\t{u.manager_id or '-'}\t{added}", highlight=False)


@users_app.command("remove")
def remove(
    name: str = typer.Argument(..., help="User to remove (their sessions end at once)."),
    config: Path | None = CONFIG,
    store: str | None = STORE,
    lang: LangOpt = "en",
) -> None:
    """Remove a user and end their sessions."""
    from churn.commands._output import fail
    from scoring.store.users import UserError

    language = reasons_language(lang)
    if not _users(config, store).remove(name):
        raise fail(UserError(t("no_user", language, name=name)), language)
    console.print(t("user_removed", language, name=name), highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``users`` to the ``churn`` app."""
    app.add_typer(users_app, name="users")
