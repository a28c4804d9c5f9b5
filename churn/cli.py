"""The ``churn`` command: one typer app; each module in ``churn.commands`` adds its commands."""

from __future__ import annotations

import importlib
import pkgutil

import typer

import churn.commands

app = typer.Typer(
    name="churn",
    help="Churn prediction service: data, features, models, scoring, KPIs and the API.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _register_commands() -> None:
    for info in sorted(pkgutil.iter_modules(churn.commands.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"churn.commands.{info.name}")
        module.register(app)


def main() -> None:
    """Console entry point."""
    _register_commands()
    app()
