"""CDNOW purchase histories (``cdnow_transactions.csv``): an event-log adapter.

The mapping is the shipped spec ``specs/cdnow.yaml``: customer_id (zero-padded text), date
(YYYYMMDD), number_of_cds (kept), dollar_value (the ``amount``); each row is a purchase, customers
are derived from them. Every customer's first purchase is in the first quarter of 1997 and the data
end on 1998-06-30, the as-of date.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from features.adapters.mapping import apply_spec
from features.adapters.mapping_spec import ContractMapping, shipped_spec
from features.dataset import Dataset

NAME = "cdnow"
SPEC = shipped_spec(NAME)
assert isinstance(SPEC, ContractMapping)
FILE = SPEC.tables["transactions"].file or ""
FOLDER = SPEC.folder or NAME
AS_OF = pd.Timestamp(SPEC.as_of)
CUTOFF = pd.Timestamp("1998-03-31")
"""The benchmark's cutoff: the last one whose 90-day horizon ends inside the data."""


def load(path: str | Path, nrows: int | None = None) -> Dataset:
    """Read the CDNOW log (a file, or the folder holding it) as a validated contract Dataset.

    ``nrows`` reads only the first rows (for quick checks).
    """
    data = apply_spec(SPEC, path, nrows=nrows).data
    assert isinstance(data, Dataset)
    return data
