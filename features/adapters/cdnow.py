"""CDNOW purchase histories (``cdnow_transactions.csv``): an event-log adapter.

Columns customer_id (zero-padded text), date (YYYYMMDD), number_of_cds, dollar_value. Each row is a
transaction (``amount`` = dollar_value, ``number_of_cds`` kept); several rows may share a customer
and day. Every customer's first purchase is in the first quarter of 1997 and the data end on
1998-06-30, the as-of date.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from features.adapters.event_log import EventLogSpec, events_to_dataset
from features.adapters.snapshot import read_text_csv
from features.dataset import Dataset

NAME = "cdnow"
FILE = "cdnow_transactions.csv"
FOLDER = "cdnow_half"
AS_OF = pd.Timestamp("1998-06-30")
CUTOFF = pd.Timestamp("1998-03-31")
"""The benchmark's cutoff: the last one whose 90-day horizon ends inside the data."""

SPEC = EventLogSpec(
    name=NAME,
    customer="customer_id",
    date="date",
    amount="dollar_value",
    date_format="%Y%m%d",
    extra=("number_of_cds",),
)


def load(path: str | Path, nrows: int | None = None) -> Dataset:
    """Read the CDNOW log (a file, or the folder holding it) as a validated contract Dataset.

    ``nrows`` reads only the first rows (for quick checks).
    """
    p = Path(path)
    p = p / FILE if p.is_dir() else p
    raw = read_text_csv(p)
    if nrows is not None:
        raw = raw.head(nrows)
    return events_to_dataset(raw, SPEC, AS_OF, p.name)
