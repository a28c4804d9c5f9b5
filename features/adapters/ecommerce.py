"""Kaggle e-commerce churn (``E_Commerce_Dataset.csv``, the workbook's ``E Comm`` sheet).

The mapping is the shipped spec ``specs/ecommerce.yaml``: one row per customer with a churn flag;
overlapping category spellings are merged (``Phone`` and ``Mobile`` into ``Mobile Phone``, ``CC``
into ``Credit Card``, ``COD`` into ``Cash on Delivery``). ``CashbackAmount`` is a monetary proxy,
not revenue, so there is no value column.
"""

from __future__ import annotations

from pathlib import Path

from features.adapters.hooks import ecommerce_rules as rules
from features.adapters.mapping import apply_spec
from features.adapters.mapping_spec import SnapshotMapping, shipped_spec
from features.adapters.snapshot import SnapshotData

NAME = "ecommerce"
SPEC = shipped_spec(NAME)
assert isinstance(SPEC, SnapshotMapping)
FILE = SPEC.file or ""
FOLDER = SPEC.folder or NAME


def load(path: str | Path) -> SnapshotData:
    """Read and validate the e-commerce CSV (a file, or the folder holding it)."""
    data = apply_spec(SPEC, path).data
    assert isinstance(data, SnapshotData)
    return data


__all__ = ["FILE", "FOLDER", "NAME", "SPEC", "load", "rules"]
