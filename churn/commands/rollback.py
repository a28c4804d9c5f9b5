"""``churn rollback``: return the ``champion`` alias to the previous champion, with a reason.
The churn and value models of that training run move back together (a pair)."""

from __future__ import annotations

import typer
from rich.console import Console

console = Console()


def rollback(
    model: str = typer.Option(..., "--model", help="Registered model, e.g. churn-model."),
    reason: str = typer.Option(..., "--reason", help="Why (recorded on the versions)."),
    tracking_uri: str | None = typer.Option(None, help="MLflow tracking URI."),
) -> None:
    """Return the champion alias to the previous champion and its training run's other model;
    the reason is recorded."""
    from core.registry import client_for, resolve_uri, rollback_pair

    client = client_for(resolve_uri(tracking_uri))
    for name, old, new in rollback_pair(client, model, reason):
        if old == new:
            console.print(f"{name}: champion stays v{new} (same training run)")
        else:
            console.print(f"{name}: champion rolled back from v{old} to v{new}")


def register(app: typer.Typer) -> None:
    """Add ``rollback`` to the ``churn`` app."""
    app.command("rollback")(rollback)
