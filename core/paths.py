"""Where the project keeps its files: one home folder, ``.churn`` unless ``CHURN_HOME`` says."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def home() -> Path:
    """The project's data folder (created by the callers that write into it)."""
    return Path(os.environ.get("CHURN_HOME", ".churn")).resolve()


def tracking_uri() -> str:
    """MLflow tracking URI: ``MLFLOW_TRACKING_URI`` when set, else a SQLite store in :func:`home`."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{home() / 'mlflow.db'}"


def artifact_root() -> Path:
    """Where runs store artifacts when the tracking store is the default SQLite file."""
    return home() / "mlartifacts"


@contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """A temporary file beside ``path`` to write into; it replaces ``path`` only when the block
    ends without an error, so a reader (or a crash) never sees half a file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
