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

from features.adapters import cdnow, ecommerce, iranian, telco
from features.adapters.event_log import write_contract_folder
from features.adapters.snapshot import REASON, AdapterError, SnapshotData
from features.dataset import Dataset

SNAPSHOT_FILE = "snapshot.parquet"
SNAPSHOT_MANIFEST = "snapshot.yaml"


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


ADAPTERS: dict[str, Adapter] = {
    a.name: a
    for a in (
        Adapter(
            "telco",
            "IBM Telco Customer Churn",
            "snapshot",
            telco.FOLDER,
            telco.FILE,
            telco.load,
            telco.rules,
        ),
        Adapter(
            "iranian",
            "UCI Iranian Churn",
            "snapshot",
            iranian.FOLDER,
            iranian.FILE,
            iranian.load,
            iranian.rules,
        ),
        Adapter(
            "cdnow",
            "CDNOW purchases (even half)",
            "event_log",
            cdnow.FOLDER,
            cdnow.FILE,
            cdnow.load,
        ),
        Adapter(
            "ecommerce",
            "Kaggle e-commerce churn",
            "snapshot",
            ecommerce.FOLDER,
            ecommerce.FILE,
            ecommerce.load,
            ecommerce.rules,
        ),
    )
}


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
        "notes": list(data.notes),
    }
    written[1].write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    if len(data.rejects):
        path = folder / "rejects" / "snapshot.rejects.csv"
        path.parent.mkdir(exist_ok=True)
        data.rejects.to_csv(path, index=False)
        written.append(path)
    return written


def import_to_folder(name: str, path: str | Path, out: str | Path) -> tuple[object, list[Path]]:
    """Adapt the source at ``path`` with adapter ``name`` and write it to ``out``.

    Returns the loaded data (Dataset or SnapshotData) and the files written.
    """
    adapter = get_adapter(name)
    data = adapter.load(Path(path))
    if isinstance(data, SnapshotData):
        return data, write_snapshot_folder(data, out)
    return data, write_contract_folder(data, out)


__all__ = ["ADAPTERS", "REASON", "Adapter", "get_adapter", "import_to_folder"]
