"""``churn serve``: start the prediction API (BentoML) in a child process until interrupted."""

from __future__ import annotations

import subprocess
from pathlib import Path

import typer
from rich.console import Console

console = Console()


def serve(
    host: str | None = typer.Option(
        None, "--host", help="Interface to bind (default: config, else 127.0.0.1)."
    ),
    port: int | None = typer.Option(None, "--port", help="Port (default: config, else 3000)."),
    config: Path | None = typer.Option(
        None, "--config", help="YAML file; the service reads its serving: section."
    ),
) -> None:
    """Start the prediction API (BentoML) until interrupted."""
    from serving.batch.store import PredictionStore
    from serving.config import load_serving_config
    from serving.launch import base_url, is_loopback, serve_command, serve_env

    cfg = load_serving_config(config)  # a bad file or store fails here, not in the server
    PredictionStore(cfg.resolved_store_url()).close()
    bind = host or cfg.host
    command = serve_command(bind, port or cfg.port)
    env = serve_env(config)
    url = base_url(cfg, host, port)
    if not is_loopback(bind):
        console.print(
            f"[yellow]warning:[/yellow] binding {bind} exposes the API beyond this machine; "
            f"set {cfg.api_key_env} to require an API key."
        )
    key = f' -H "X-API-Key: ${cfg.api_key_env}"' if env.get(cfg.api_key_env) else ""
    console.print(f"starting the churn API on {url} (Ctrl+C stops it)")
    console.print(f"  readiness:  curl {url}/readyz")
    console.print(
        f"  sample:     curl -X POST {url}/predict_by_id{key} "
        "-H 'Content-Type: application/json' -d '{\"customer_ids\": [\"C0000005\"]}'"
    )
    try:
        code = subprocess.call(command, env=env)
    except KeyboardInterrupt:
        code = 0
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the ``churn`` app."""
    app.command("serve")(serve)
