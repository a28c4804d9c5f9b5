"""``churn serve``: start the prediction API (BentoML) in a child process until interrupted."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

if TYPE_CHECKING:
    import subprocess

console = Console()


def serve(
    host: str | None = typer.Option(
        None, "--host", help="Interface to bind (default: config, else 127.0.0.1)."
    ),
    port: int | None = typer.Option(None, "--port", help="Port (default: config, else 3000)."),
    config: Path | None = typer.Option(
        None, "--config", help="YAML file; the service reads its serving: section."
    ),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        help="Worker processes (one per core at most); each follows POST /reload within a second.",
    ),
    allow_unauthenticated: bool = typer.Option(
        False,
        "--allow-unauthenticated",
        help="Serve beyond loopback without an API key (refused otherwise).",
    ),
) -> None:
    """Start the prediction API (BentoML) until interrupted (Ctrl+C, SIGTERM or SIGHUP stop it
    and its workers)."""
    from scoring.config import ServingConfigError, load_serving_config
    from scoring.store.predictions import PredictionStore
    from serving.launch import (
        base_url,
        bind_problem,
        run_foreground,
        serve_command,
        serve_env,
        watch_readiness,
    )

    cfg = load_serving_config(config)  # a bad file or store fails here, not in the server
    bind = host or cfg.host
    env = serve_env(config, workers=workers)
    problem = bind_problem(bind, cfg.api_key_env, env, allow_unauthenticated)
    if problem:
        raise ServingConfigError(f"churn serve refused to start: {problem}")
    PredictionStore(cfg.resolved_store_url()).close()
    command = serve_command(bind, port or cfg.port, keep_alive_s=cfg.keep_alive_timeout_s)
    url = base_url(cfg, host, port)
    if env.get(cfg.api_key_env) is None and allow_unauthenticated:
        console.print(
            f"[yellow]warning:[/yellow] serving {bind} without an API key "
            "(--allow-unauthenticated): anyone who reaches this port can use the API."
        )
    key = f' -H "X-API-Key: ${cfg.api_key_env}"' if env.get(cfg.api_key_env) else ""
    console.print(f"starting the churn API on {url} (Ctrl+C stops it)")
    console.print(f"  workspace:  {url}/ui/  (at-risk list, customers, campaign)")
    console.print(f"  API docs:   {url}/docs")
    console.print(f"  readiness:  curl {url}/readyz")
    console.print(
        f"  sample:     curl -X POST {url}/predict_by_id{key} "
        "-H 'Content-Type: application/json' -d '{\"customer_ids\": [\"C0000005\"]}'"
    )

    def say(msg: str) -> None:
        console.print(f"churn serve: {msg}", highlight=False)

    def progress(proc: subprocess.Popen) -> None:
        watch_readiness(proc, url, say)

    raise typer.Exit(run_foreground(command, env, on_start=progress))


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the ``churn`` app."""
    app.command("serve")(serve)
