"""``churn promote``: give the ``champion`` alias to a training run's models by hand, with a
reason. The churn and value models of one run move together (a pair)."""

from __future__ import annotations

import typer
from rich.console import Console

console = Console()


def promote(
    model: str = typer.Option(..., "--model", help="Registered model, e.g. churn-model."),
    version: str = typer.Option(..., "--version", help="Version to make champion."),
    reason: str = typer.Option(..., "--reason", help="Why (recorded on the versions)."),
    tracking_uri: str | None = typer.Option(None, help="MLflow tracking URI."),
) -> None:
    """Give the champion alias to a version and to the other model of its training run; the
    reason is recorded on each."""
    from core.registry import client_for, promote_pair, resolve_uri

    client = client_for(resolve_uri(tracking_uri))
    moves = promote_pair(client, model, version, reason)
    for name, previous, new in moves:
        was = f" (was v{previous})" if previous else ""
        console.print(f"{name}: champion is now v{new}{was}")
    if len(moves) == 1:
        console.print(
            f"[yellow]warning:[/yellow] {model} v{version} names no training run shared with "
            "another model; only it moved"
        )


def register(app: typer.Typer) -> None:
    """Add ``promote`` to the ``churn`` app."""
    app.command("promote")(promote)
