"""``churn promote``: give the ``champion`` alias to a model version by hand, with a reason."""

from __future__ import annotations

import typer
from rich.console import Console

console = Console()


def promote(
    model: str = typer.Option(..., "--model", help="Registered model, e.g. churn-model."),
    version: str = typer.Option(..., "--version", help="Version to make champion."),
    reason: str = typer.Option(..., "--reason", help="Why (recorded on the version)."),
    tracking_uri: str | None = typer.Option(None, help="MLflow tracking URI."),
) -> None:
    """Give the champion alias to a version by hand; the reason is recorded."""
    from core.registry import client_for, resolve_uri
    from core.registry import promote as do_promote

    client = client_for(resolve_uri(tracking_uri))
    previous = do_promote(client, model, version, reason)
    was = f" (was v{previous})" if previous else ""
    console.print(f"{model}: champion is now v{version}{was}")


def register(app: typer.Typer) -> None:
    """Add ``promote`` to the ``churn`` app."""
    app.command("promote")(promote)
