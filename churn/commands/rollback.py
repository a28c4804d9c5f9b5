"""``churn rollback``: return the ``champion`` alias to the previous champion, with a reason."""

from __future__ import annotations

import typer
from rich.console import Console

console = Console()


def rollback(
    model: str = typer.Option(..., "--model", help="Registered model, e.g. churn-model."),
    reason: str = typer.Option(..., "--reason", help="Why (recorded on both versions)."),
    tracking_uri: str | None = typer.Option(None, help="MLflow tracking URI."),
) -> None:
    """Return the champion alias to the previous champion; the reason is recorded."""
    from core.registry import client_for, resolve_uri
    from core.registry import rollback as do_rollback

    client = client_for(resolve_uri(tracking_uri))
    old, new = do_rollback(client, model, reason)
    console.print(f"{model}: champion rolled back from v{old} to v{new}")


def register(app: typer.Typer) -> None:
    """Add ``rollback`` to the ``churn`` app."""
    app.command("rollback")(rollback)
