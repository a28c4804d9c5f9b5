"""Champions fetched beside the API's start, so a worker does not wait on MLflow.

``serving.start`` runs ``python -m scoring.prefetch FOLDER`` in a process of its own while
BentoML starts its worker: the registry read and the download (most of it MLflow's own import)
use the machine's other core instead of the worker's start. The worker takes the pair found in
FOLDER when it was fetched for the same registry and models; when it is missing, failed or late,
the worker reads the registry itself, as it does for every later refresh.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scoring.champions import Champions
    from scoring.config import ModelRefs

log = logging.getLogger(__name__)

PREFETCH_ENV = "CHURN_CHAMPIONS_PREFETCH"
"""The folder a worker looks in for its first champions (set by ``serving.start``)."""
PAIR_FILE = "pair.json"
WAIT_S = 60.0
"""How long a worker waits for the fetch before reading the registry itself."""


def _key(refs: ModelRefs, tracking_uri: str) -> dict[str, str]:
    return {
        "tracking_uri": tracking_uri,
        "churn": refs.churn,
        "value": refs.value,
        "alias": refs.alias,
    }


def fetch(refs: ModelRefs, tracking_uri: str, folder: Path) -> None:
    """Read which versions carry the alias, download both bundles into ``folder`` and write
    :data:`PAIR_FILE` last (renamed into place); a pair the service would refuse, or any
    failure, is written as ``{"error": ...}`` so the worker stops waiting at once."""
    record: dict[str, object] = dict(_key(refs, tracking_uri))
    try:
        from core.registry import download_version
        from scoring.champions import alias_pair

        pair = alias_pair(refs, tracking_uri)
        problem = pair.mismatch(refs)
        if problem is not None:
            raise ValueError(problem)
        dirs = {
            kind: download_version(name, version, tracking_uri, folder / kind)
            for kind, name, version in (
                ("churn", refs.churn, pair.churn_version),
                ("value", refs.value, pair.value_version),
            )
        }
        record |= {
            "churn_version": pair.churn_version,
            "value_version": pair.value_version,
            "run_id": pair.churn_run,
            "churn_dir": str(dirs["churn"]),
            "value_dir": str(dirs["value"]),
        }
    except Exception as exc:  # the worker reads the registry itself and reports the problem
        record["error"] = f"{type(exc).__name__}: {exc}"
    _write(folder, record)


def take(
    refs: ModelRefs, tracking_uri: str, folder: str | Path | None, wait_s: float = WAIT_S
) -> Champions | None:
    """The champions fetched into ``folder`` for this registry and these models, loaded; None
    when there is no folder, the fetch failed or did not finish within ``wait_s``, or the files
    do not load (a warning says which: the worker then reads the registry itself)."""
    if not folder:
        return None
    path = Path(folder) / PAIR_FILE
    deadline = time.monotonic() + wait_s
    while not path.is_file():
        if time.monotonic() > deadline:
            log.warning("no champions fetched at start within %.0f s", wait_s)
            return None
        time.sleep(0.02)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if any(record.get(k) != v for k, v in _key(refs, tracking_uri).items()):
            log.warning("the champions fetched at start are for other models or another registry")
            return None
        if "error" in record:
            log.warning("fetching the champions at start failed: %s", record["error"])
            return None
        from core.bundle import ModelBundle
        from scoring.champions import Champions

        churn = ModelBundle.load(record["churn_dir"])
        value = ModelBundle.load(record["value_dir"])
    except Exception as exc:  # anything odd here: the worker reads the registry itself
        log.warning("the champions fetched at start do not load: %s", exc)
        return None
    if churn.kind != "churn" or value.kind != "value":
        log.warning("the bundles fetched at start are not a churn and a value model")
        return None
    return Champions(
        churn,
        value,
        str(record["churn_version"]),
        str(record["value_version"]),
        run_id=record.get("run_id"),
    )


def _write(folder: Path, record: dict[str, object]) -> None:
    """Write :data:`PAIR_FILE` whole or not at all (a worker may be waiting for it)."""
    part = folder / (PAIR_FILE + ".part")
    part.write_text(json.dumps(record), encoding="utf-8")
    part.replace(folder / PAIR_FILE)


def main(argv: list[str]) -> int:
    """``python -m scoring.prefetch FOLDER``: fetch the configured champions into FOLDER."""
    from scoring.config import serving_config_from_env

    folder = Path(argv[0])
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # not in the log
    try:
        cfg = serving_config_from_env()
        refs, uri = cfg.models, cfg.resolved_tracking_uri()
    except Exception as exc:  # a bad config: the worker reports it when it reads the config
        _write(folder, {"error": f"{type(exc).__name__}: {exc}"})
        return 0
    fetch(refs, uri, folder)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
