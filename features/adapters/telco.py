"""IBM Telco Customer Churn (``WA_Fn-UseC_-Telco-Customer-Churn.csv``): a snapshot adapter.

One row per customer, ``Churn`` Yes/No (left within the last month of the quarter). ``TotalCharges``
is a blank (one space) for customers with tenure 0: they have not been billed yet, so it is set to
0.0 and reported; a blank at any other tenure is kept as missing and reported.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from features.adapters.snapshot import SnapshotData, SnapshotSpec, read_snapshot, read_text_csv

NAME = "telco"
FILE = "WA_Fn-UseC_-Telco-Customer-Churn.csv"
FOLDER = "telco_ibm"


def _fill_unbilled(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    unbilled = frame["total_charges"].isna() & (frame["tenure"] == 0)
    if not unbilled.any():
        return frame, []
    frame = frame.assign(total_charges=frame["total_charges"].mask(unbilled, 0.0))
    return frame, [f"TotalCharges: {int(unbilled.sum())} blank value(s) at tenure 0 set to 0.0"]


SPEC = SnapshotSpec(
    name=NAME,
    id_column="customerID",
    label="Churn",
    positive=("Yes",),
    negative=("No",),
    numeric=("SeniorCitizen", "tenure", "MonthlyCharges", "TotalCharges"),
    categorical=(
        "gender",
        "Partner",
        "Dependents",
        "PhoneService",
        "MultipleLines",
        "InternetService",
        "OnlineSecurity",
        "OnlineBackup",
        "DeviceProtection",
        "TechSupport",
        "StreamingTV",
        "StreamingMovies",
        "Contract",
        "PaperlessBilling",
        "PaymentMethod",
    ),
    value="MonthlyCharges",
    fix=_fill_unbilled,
)


def load(path: str | Path) -> SnapshotData:
    """Read and validate the Telco CSV (a file, or the folder holding it)."""
    p = Path(path)
    p = p / FILE if p.is_dir() else p
    return read_snapshot(read_text_csv(p), SPEC, p.name)


def rules(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The data set's simple rules as churn scores (higher = riskier)."""
    m2m = (frame["contract"] == "Month-to-month").to_numpy(dtype=np.float64)
    tenure = frame["tenure"].to_numpy(dtype=np.float64)
    return {
        "month-to-month contract": m2m,
        "month-to-month, then shortest tenure": m2m * 1000.0 - tenure,
    }
