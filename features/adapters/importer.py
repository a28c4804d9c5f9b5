"""The adapters ``churn import`` and ``churn bench`` know, and writing an import to a folder.

Event-log adapters produce a contract Dataset (written as a data folder every command accepts);
snapshot adapters produce a typed :class:`SnapshotData` (written as ``snapshot.parquet`` with a
``snapshot.yaml`` manifest), for the snapshot mode of ``training.snapshot.models``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import yaml

from core.csv_out import write_csv
from core.paths import home
from features.adapters.event_log import write_contract_folder
from features.adapters.mapping import Mapped, apply_spec
from features.adapters.mapping_spec import (
    ContractMapping,
    SnapshotMapping,
    load_spec,
    shipped_spec,
    spec_file,
    spec_rules,
)
from features.adapters.snapshot import REASON, AdapterError, SnapshotData
from features.dataset import Dataset

SNAPSHOT_FILE = "snapshot.parquet"
SNAPSHOT_MANIFEST = "snapshot.yaml"
SHIPPED = ("telco", "iranian", "cdnow", "ecommerce")
"""The specs in ``features/adapters/specs/`` that are named adapters, in the order listed."""


@dataclass(frozen=True)
class Adapter:
    """One known source layout: how to read it and where its files usually sit."""

    name: str
    title: str
    kind: Literal["event_log", "snapshot"]
    folder: str
    file: str
    load: Callable[[Path], Dataset | SnapshotData]
    rules: Callable[[pd.DataFrame], dict[str, np.ndarray]] | None = None
    spec: ContractMapping | SnapshotMapping | None = None


def spec_adapter(spec: ContractMapping | SnapshotMapping) -> Adapter:
    """A named adapter from a mapping spec: its loader applies the spec to a file or folder."""

    def load(path: Path) -> Dataset | SnapshotData:
        return apply_spec(spec, path).data

    return Adapter(
        name=spec.name,
        title=spec.title or spec.name,
        kind="snapshot" if isinstance(spec, SnapshotMapping) else "event_log",
        folder=spec.folder or spec.name,
        file=spec_file(spec),
        load=load,
        rules=spec_rules(spec),
        spec=spec,
    )


ADAPTERS: dict[str, Adapter] = {n: spec_adapter(shipped_spec(n)) for n in SHIPPED}


def get_adapter(name: str) -> Adapter:
    """The adapter called ``name``; AdapterError lists the known names otherwise."""
    try:
        return ADAPTERS[name.strip().lower()]
    except KeyError:
        raise AdapterError(
            f"unknown data set {name!r}; known adapters: {', '.join(ADAPTERS)}"
        ) from None


def write_snapshot_folder(data: SnapshotData, out: str | Path) -> list[Path]:
    """Write the typed snapshot (Parquet keeps the types), its manifest and any rejects."""
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise AdapterError(f"{folder}: exists and is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / SNAPSHOT_FILE, folder / SNAPSHOT_MANIFEST]
    data.frame.assign(duplicate_group=data.groups).to_parquet(written[0], index=False)
    manifest = {
        "name": data.name,
        "features": list(data.features),
        "categorical": list(data.categorical),
        "label": "churned",
        "value": data.value,
        "duplicate_rows": data.duplicate_rows,
        "read": data.report.read,
        "accepted": data.report.accepted,
        "rejected": data.report.rejected,
        "notes": [str(n) for n in data.notes],  # plain text (NoteText is a str)
    }
    written[1].write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    if len(data.rejects):
        path = folder / "rejects" / "snapshot.rejects.csv"
        path.parent.mkdir(exist_ok=True)
        write_csv(data.rejects, path)
        written.append(path)
    return written


def write_mapped(data: Dataset | SnapshotData, out: str | Path) -> list[Path]:
    """Write an import: a contract data folder, or a snapshot folder."""
    if isinstance(data, SnapshotData):
        return write_snapshot_folder(data, out)
    return write_contract_folder(data, out)


def import_to_folder(name: str, path: str | Path, out: str | Path) -> tuple[object, list[Path]]:
    """Adapt the source at ``path`` with adapter ``name`` and write it to ``out``.

    Returns the loaded data (Dataset or SnapshotData) and the files written.
    """
    mapped, written = import_named(name, path, out)
    return mapped.data, written


def import_named(name: str, path: str | Path, out: str | Path) -> tuple[Mapped, list[Path]]:
    """:func:`import_to_folder` with the notes of the import (encoding detected, repairs)."""
    adapter = get_adapter(name)
    assert adapter.spec is not None
    mapped = apply_spec(adapter.spec, Path(path))
    return mapped, write_mapped(mapped.data, out)


def default_out(spec: ContractMapping | SnapshotMapping, spec_path: Path) -> Path:
    """Where ``churn import --spec`` writes without ``--out``: the spec's ``out:`` (relative to
    the spec), else ``$CHURN_HOME/imports/<name>``."""
    if spec.out:
        return spec_path.resolve().parent / spec.out
    return home() / "imports" / spec.name


def import_spec(
    spec_path: str | Path, path: str | Path | None = None, out: str | Path | None = None
) -> tuple[Mapped, list[Path]]:
    """Apply the mapping spec at ``spec_path`` (its sources, or the export at ``path``) and write
    the result to ``out`` (default :func:`default_out`)."""
    p = Path(spec_path)
    spec = load_spec(p)
    mapped = apply_spec(spec, path, base=p.resolve().parent)
    target = Path(out) if out is not None else default_out(spec, p)
    return mapped, write_mapped(mapped.data, target)


__all__ = [
    "ADAPTERS",
    "REASON",
    "Adapter",
    "get_adapter",
    "import_named",
    "import_spec",
    "import_to_folder",
]
