"""The user-path suite of ``churn bench``: every data set under the data root, the way a user runs it.

Each sub-folder of the data root is matched to a shipped adapter or a mapping spec (the specs
folder, ``docs/examples/specs`` by default) by the spec's ``folder:``. Purchase logs are imported
into a data folder and go through :func:`training.bench.as_of.run_as_of`; snapshot tables through
:func:`training.bench.holdout.holdout` (a 30% stratified holdout). A folder with neither is
listed as skipped. Results are cached as ``$CHURN_HOME/bench/<name>.user.json``.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.bundle import jsonable
from core.errors import ChurnError
from features.adapters.hooks import Rules
from features.adapters.importer import ADAPTERS, Adapter, spec_adapter, write_mapped
from features.adapters.mapping_spec import load_spec
from features.adapters.snapshot import SnapshotData
from features.config import FeatureConfig
from training.bench.as_of import run_as_of
from training.bench.holdout import holdout
from training.config import TrainingConfig
from training.snapshot.job import no_rules

SUFFIX = ".user.json"


@dataclass(frozen=True)
class Settings:
    """The suite's one setting for every data set."""

    share: float = 0.3
    resamples: int = 1000
    seed: int = 7


def adapters(specs: Path | None) -> dict[str, Adapter]:
    """Shipped adapters and the mapping specs in ``specs`` (``*.yaml``), by name."""
    found = dict(ADAPTERS)
    if specs is not None and specs.is_dir():
        for path in sorted(specs.glob("*.yaml")):
            spec = load_spec(path)
            found.setdefault(spec.name, spec_adapter(spec))
    return found


def discover(root: Path, specs: Path | None) -> tuple[list[Adapter], list[str]]:
    """The data sets under ``root`` with an adapter or spec, and a note for each folder without."""
    if not root.is_dir():
        raise ChurnError(f"data root {root} does not exist (pass --data-root)")
    by_folder: dict[str, Adapter] = {}
    for a in adapters(specs).values():
        by_folder.setdefault(a.folder, a)
    found, skipped = [], []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.name in by_folder:
            found.append(by_folder[folder.name])
        else:
            skipped.append(f"{folder.name}: no adapter or mapping spec reads this folder")
    return found, skipped


def run_one(
    adapter: Adapter,
    root: Path,
    cfg: TrainingConfig,
    features: FeatureConfig,
    settings: Settings,
    as_of: str | None = None,
) -> dict[str, Any]:
    """One data set through the user's path; a JSON-able result."""
    data = adapter.load(root / adapter.folder)
    head = {"name": adapter.name, "title": adapter.title, "kind": adapter.kind}
    if isinstance(data, SnapshotData):
        rules: Rules = adapter.rules or no_rules
        res = holdout(data, rules, cfg, settings.share, settings.seed, settings.resamples)
        protocol = f"{settings.share:.0%} stratified holdout, `churn train-snapshot` on the rest"
        return jsonable({**head, "protocol": protocol, **res})
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / adapter.name
        write_mapped(data, folder)
        (folder / "dataset.yaml").unlink(missing_ok=True)
        res = run_as_of(folder, cfg, features, settings.resamples, settings.seed, as_of)
    protocol = (
        f"`churn train` on the data to {res['as_of']}, scored at it, labels from the "
        f"{res['horizon_days']} days after"
    )
    return jsonable({**head, "protocol": protocol, **res})


def run_user_path(
    root: Path,
    specs: Path | None,
    only: str | None,
    cfg: TrainingConfig,
    features: FeatureConfig,
    settings: Settings,
    as_of: str | None = None,
    on_start: Callable[[str], None] = lambda _: None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Run ``only`` or every data set found under ``root``; (results, skipped notes)."""
    found, skipped = discover(root, specs)
    if only:
        known = adapters(specs)
        if only.strip().lower() not in known:
            raise ChurnError(
                f"unknown data set {only!r}; known adapters and specs: {', '.join(known)}"
            )
        found = [a for a in found if a.name == only.strip().lower()]
        if not found:
            raise ChurnError(f"data set {only!r}: its folder is not under {root}")
    results = []
    for adapter in found:
        on_start(adapter.name)
        results.append(run_one(adapter, root, cfg, features, settings, as_of))
    return results, skipped


def cache_key(result: dict[str, Any]) -> str:
    """The cache name: the data set, and the as-of date of an event log."""
    return result["name"] + (f"@{result['as_of']}" if "as_of" in result else "")


def save(results: list[dict[str, Any]], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for r in results:
        (folder / f"{cache_key(r)}{SUFFIX}").write_text(json.dumps(r, indent=1), encoding="utf-8")


def cached(folder: Path) -> list[dict[str, Any]]:
    """Every cached user-path result (unreadable files skipped), snapshots after the logs."""
    out = []
    for path in sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []:
        try:
            out.append(json.loads(path.read_text(encoding="utf-8")))
        except json.JSONDecodeError:
            continue
    return sorted(out, key=lambda r: (r["kind"] == "snapshot", r["name"], r.get("as_of", "")))
