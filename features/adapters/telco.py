"""IBM Telco Customer Churn (``WA_Fn-UseC_-Telco-Customer-Churn.csv``): a snapshot adapter.

The mapping is the shipped spec ``specs/telco.yaml``: one row per customer, ``Churn`` Yes/No.
``TotalCharges`` is a blank for customers with tenure 0 (not billed yet): the ``telco_fill_unbilled``
hook sets it to 0.0 and reports it; a blank at any other tenure is kept as missing and reported.
"""

from __future__ import annotations

from pathlib import Path

from features.adapters.hooks import telco_rules as rules
from features.adapters.mapping import apply_spec
from features.adapters.mapping_spec import SnapshotMapping, shipped_spec
from features.adapters.snapshot import SnapshotData

NAME = "telco"
SPEC = shipped_spec(NAME)
assert isinstance(SPEC, SnapshotMapping)
FILE = SPEC.file or ""
FOLDER = SPEC.folder or NAME


def load(path: str | Path) -> SnapshotData:
    """Read and validate the Telco CSV (a file, or the folder holding it)."""
    data = apply_spec(SPEC, path).data
    assert isinstance(data, SnapshotData)
    return data


__all__ = ["FILE", "FOLDER", "NAME", "SPEC", "load", "rules"]
