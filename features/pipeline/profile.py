"""Profile features: segment, region and plan as pandas categoricals (LightGBM's native handling).

Categories come from the whole customers table, not the rows of one cutoff, so every cutoff and
every training set encodes a value with the same code. ``account_manager_id`` is a key, not a
feature. Profile values are taken as static attributes (the table holds no history of them).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.notes import note, note_text
from features.dataset import Dataset

CATEGORICAL_FEATURES = ("segment", "region", "plan")
KEY_COLUMNS = ("customer_id", "cutoff", "account_manager_id")


def profile_dtypes(ds: Dataset) -> tuple[dict[str, pd.CategoricalDtype], list[str]]:
    """The categorical dtype of each profile column present, and notes for the absent ones."""
    customers = ds.tables["customers"]
    dtypes: dict[str, pd.CategoricalDtype] = {}
    notes: list[str] = []
    for col in CATEGORICAL_FEATURES:
        if col not in customers:
            notes.append(note_text(note("profile_absent", column=col)))
            continue
        values = customers[col].dropna().astype("str").unique()
        dtypes[col] = pd.CategoricalDtype(sorted(values))
    return dtypes, notes


def profile_frame(
    ds: Dataset, rows: np.ndarray, dtypes: dict[str, pd.CategoricalDtype]
) -> pd.DataFrame:
    """Keys and profile categoricals of the customers at positions ``rows``."""
    customers = ds.tables["customers"]

    def take(col: str) -> pd.Series:
        return customers[col].iloc[rows].reset_index(drop=True)

    out = pd.DataFrame({"customer_id": take("customer_id").astype("str")})
    if "account_manager_id" in customers:
        out["account_manager_id"] = take("account_manager_id").astype("str")
    for col, dtype in dtypes.items():
        out[col] = take(col).astype("str").astype(dtype)
    return out
