"""Kaggle e-commerce churn (``E_Commerce_Dataset.csv``, the workbook's ``E Comm`` sheet).

One row per customer with a churn flag, a complaint flag, satisfaction, recency
(``DaySinceLastOrder``) and frequency (``OrderCount``). Overlapping category spellings are merged
(``Phone`` and ``Mobile`` into ``Mobile Phone``, ``CC`` into ``Credit Card``, ``COD`` into
``Cash on Delivery``). ``CashbackAmount`` is a monetary proxy, not revenue, so no value column.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from features.adapters.snapshot import SnapshotData, SnapshotSpec, read_snapshot, read_text_csv

NAME = "ecommerce"
FILE = "E_Commerce_Dataset.csv"
FOLDER = "ecommerce_churn"

SPEC = SnapshotSpec(
    name=NAME,
    id_column="CustomerID",
    label="Churn",
    positive=("1",),
    negative=("0",),
    numeric=(
        "Tenure",
        "CityTier",
        "WarehouseToHome",
        "HourSpendOnApp",
        "NumberOfDeviceRegistered",
        "SatisfactionScore",
        "NumberOfAddress",
        "Complain",
        "OrderAmountHikeFromlastYear",
        "CouponUsed",
        "OrderCount",
        "DaySinceLastOrder",
        "CashbackAmount",
    ),
    categorical=(
        "PreferredLoginDevice",
        "PreferredPaymentMode",
        "Gender",
        "PreferedOrderCat",
        "MaritalStatus",
    ),
    merge_levels={
        "PreferredLoginDevice": {"Phone": "Mobile Phone"},
        "PreferedOrderCat": {"Mobile": "Mobile Phone"},
        "PreferredPaymentMode": {"CC": "Credit Card", "COD": "Cash on Delivery"},
    },
)


def load(path: str | Path) -> SnapshotData:
    """Read and validate the e-commerce CSV (a file, or the folder holding it)."""
    p = Path(path)
    p = p / FILE if p.is_dir() else p
    return read_snapshot(read_text_csv(p), SPEC, p.name)


def rules(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The data set's simple rules as churn scores (higher = riskier)."""
    complain = frame["complain"].to_numpy(dtype=np.float64)
    tenure = frame["tenure"].to_numpy(dtype=np.float64)
    shortest = -np.nan_to_num(tenure, nan=np.nanmedian(tenure))
    return {"complained": complain, "complained, then shortest tenure": complain * 1000 + shortest}
