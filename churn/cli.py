"""The ``churn`` command: one typer app; each module in ``churn.commands`` adds the command it is
named after (``import_`` adds ``import``); helpers shared by several live in ``_shared``.

Registering the commands must stay light, so ``churn --help`` answers at once: command modules
import only the standard library, typer, rich and light project modules (``core.errors``,
``core.paths``) at top level, and everything else inside the command function
(tests/churn/test_cli.py checks this; benchmarks/cli_startup.py times it).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer
from rich.console import Console

import churn.commands
from core.errors import ChurnError

app = typer.Typer(
    name="churn",
    help="Churn prediction service: data, features, models, scoring, KPIs and the API.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _root() -> None:
    """Churn prediction service: data, features, models, scoring, KPIs and the API."""


def register_commands() -> typer.Typer:
    """Add every command module's commands to the app (once)."""
    if not app.registered_commands:
        for info in sorted(pkgutil.iter_modules(churn.commands.__path__), key=lambda i: i.name):
            if not info.name.startswith("_"):
                importlib.import_module(f"churn.commands.{info.name}").register(app)
    return app


def main() -> None:
    """Console entry point: user errors print a message and exit 2, without a traceback."""
    register_commands()
    try:
        app()
    except ChurnError as exc:
        Console(stderr=True).print(f"[bold red]error:[/bold red] {exc}", highlight=False)
        sys.exit(2)
