"""UCI Iranian Churn Dataset (``Customer_Churn.csv``): a snapshot adapter with customer value.

3,150 rows without a customer id (ids become ``row-<line>``); 300 rows repeat another row exactly,
which ``SnapshotData.groups`` marks so that cross-validation keeps each group inside one fold.
Features aggregate months 1-9, the label is the state at month 12. Column names keep the source's
double spaces.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from features.adapters.snapshot import SnapshotData, SnapshotSpec, read_snapshot, read_text_csv

NAME = "iranian"
FILE = "Customer_Churn.csv"
FOLDER = "iranian_churn"

SPEC = SnapshotSpec(
    name=NAME,
    label="Churn",
    positive=("1",),
    negative=("0",),
    numeric=(
        "Call  Failure",
        "Complains",
        "Subscription  Length",
        "Charge  Amount",
        "Seconds of Use",
        "Frequency of use",
        "Frequency of SMS",
        "Distinct Called Numbers",
        "Age Group",
        "Tariff Plan",
        "Status",
        "Age",
        "Customer Value",
    ),
    value="Customer Value",
)


def load(path: str | Path) -> SnapshotData:
    """Read and validate the Iranian churn CSV (a file, or the folder holding it)."""
    p = Path(path)
    p = p / FILE if p.is_dir() else p
    return read_snapshot(read_text_csv(p), SPEC, p.name)


def rules(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The data set's simple rules as churn scores (higher = riskier)."""
    complains = frame["complains"].to_numpy(dtype=np.float64)
    inactive = (frame["status"] == 2).to_numpy(dtype=np.float64)
    return {
        "complained": complains,
        "complained, then non-active status": 2.0 * complains + inactive,
    }
