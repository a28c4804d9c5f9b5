"""UCI Iranian Churn Dataset (``Customer_Churn.csv``): a snapshot adapter with customer value.

The mapping is the shipped spec ``specs/iranian.yaml``: no customer id (ids become
``row-<line>``); the 300 rows that repeat another row are marked by ``SnapshotData.groups`` so that
cross-validation keeps each group inside one fold. Column names keep the source's double spaces.
"""

from __future__ import annotations

from pathlib import Path

from features.adapters.hooks import iranian_rules as rules
from features.adapters.mapping import apply_spec
from features.adapters.mapping_spec import SnapshotMapping, shipped_spec
from features.adapters.snapshot import SnapshotData

NAME = "iranian"
SPEC = shipped_spec(NAME)
assert isinstance(SPEC, SnapshotMapping)
FILE = SPEC.file or ""
FOLDER = SPEC.folder or NAME


def load(path: str | Path) -> SnapshotData:
    """Read and validate the Iranian churn CSV (a file, or the folder holding it)."""
    data = apply_spec(SPEC, path).data
    assert isinstance(data, SnapshotData)
    return data


__all__ = ["FILE", "FOLDER", "NAME", "SPEC", "load", "rules"]
