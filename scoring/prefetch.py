"""Champions fetched in a process of their own, so a start does not wait on MLflow.

``serving.start`` runs ``python -m scoring.prefetch FOLDER`` while BentoML starts its worker,
and ``churn score`` (:func:`fetching`) while it loads the data and builds the features: the registry read and the
download (most of it MLflow's own import) use the machine's other core. The caller takes the
pair found in FOLDER when it was fetched for the same registry and models; when it is missing,
failed or late, the caller reads the registry itself (the service does so for every later
refresh).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scoring.champions import Champions
    from scoring.config import ModelRefs

log = logging.getLogger(__name__)

PREFETCH_ENV = "CHURN_CHAMPIONS_PREFETCH"
"""The folder a worker looks in for its first champions (set by ``serving.start``)."""
PAIR_FILE = "pair.json"
UNUSABLE = "champions fetched beside the start unusable"
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
    refs: ModelRefs,
    tracking_uri: str,
    folder: str | Path | None,
    wait_s: float = WAIT_S,
    running: Callable[[], bool] | None = None,
) -> Champions | None:
    """The champions fetched into ``folder`` for this registry and these models, loaded; None
    when there is no folder, the fetch failed, ended without a result (``running`` says whether
    it still runs) or did not finish within ``wait_s``, or the files do not load. A warning
    says which: the caller then reads the registry itself."""
    if not folder:
        return None
    import lightgbm  # noqa: F401 - the boosters' library loads while the fetch ends on the other core

    path = Path(folder) / PAIR_FILE
    deadline = time.monotonic() + wait_s
    while not path.is_file():
        stopped = running is not None and not running()
        if (stopped or time.monotonic() > deadline) and not path.is_file():
            log.warning("%s: nothing fetched within %.0f s", UNUSABLE, wait_s)
            return None
        time.sleep(0.02)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if any(record.get(k) != v for k, v in _key(refs, tracking_uri).items()):
            log.warning("%s: fetched for other models or another registry", UNUSABLE)
            return None
        if "error" in record:  # the caller's own registry read reports it
            log.info("fetching the champions failed: %s", record["error"])
            return None
        from core.bundle import ModelBundle
        from scoring.champions import Champions

        churn = ModelBundle.load(record["churn_dir"])
        value = ModelBundle.load(record["value_dir"])
    except Exception as exc:  # anything odd here: the caller reads the registry itself
        log.warning("%s: %s", UNUSABLE, exc)
        return None
    if churn.kind != "churn" or value.kind != "value":
        log.warning("%s: not a churn and a value model", UNUSABLE)
        return None
    return Champions(
        churn,
        value,
        str(record["churn_version"]),
        str(record["value_version"]),
        run_id=record.get("run_id"),
    )


@contextmanager
def fetching(refs: ModelRefs, tracking_uri: str) -> Iterator[Callable[[], Champions | None]]:
    """Fetch the champions in a process of their own while the caller loads its data; the
    function it yields waits for them (None: load them yourself, which reports the problem)."""
    with tempfile.TemporaryDirectory(prefix="churn-champions-") as folder:
        key = json.dumps(_key(refs, tracking_uri))
        proc = subprocess.Popen(
            [sys.executable, "-m", "scoring.prefetch", folder, key],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            yield lambda: take(refs, tracking_uri, folder, running=lambda: proc.poll() is None)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def _write(folder: Path, record: dict[str, object]) -> None:
    """Write :data:`PAIR_FILE` whole or not at all (a worker may be waiting for it)."""
    part = folder / (PAIR_FILE + ".part")
    part.write_text(json.dumps(record), encoding="utf-8")
    part.replace(folder / PAIR_FILE)


def main(argv: list[str]) -> int:
    """``python -m scoring.prefetch FOLDER [KEY]``: fetch the champions into FOLDER, those KEY
    names (JSON: tracking_uri, churn, value, alias) or else the serving configuration's."""
    folder = Path(argv[0])
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # not in the log
    try:
        from scoring.config import ModelRefs, serving_config_from_env

        if len(argv) > 1:
            key = json.loads(argv[1])
            uri = key.pop("tracking_uri")
            refs = ModelRefs(**key)
        else:
            cfg = serving_config_from_env()
            refs, uri = cfg.models, cfg.resolved_tracking_uri()
    except Exception as exc:  # a bad config: the caller reports it when it reads the config
        _write(folder, {"error": f"{type(exc).__name__}: {exc}"})
        return 0
    fetch(refs, uri, folder)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
