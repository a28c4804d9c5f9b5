"""A validated data set in memory: the accepted rows of every table, and what was rejected."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

AsOfSource = Literal["argument", "dataset.yaml", "last event", "today"]
"""Where a data set's as-of date came from (see ``docs/data-contract.md``, as-of date)."""

AS_OF_SOURCES: dict[str, str] = {
    "argument": "given with --asof",
    "dataset.yaml": "from dataset.yaml",
    "last event": "the last event in the data (no dataset.yaml, no --asof)",
    "today": "today, UTC (no dataset.yaml, no --asof, and no dated event on or before today)",
}


@dataclass(frozen=True)
class TableReport:
    """How many rows of one table were read, accepted and rejected (read = accepted + rejected)."""

    table: str
    source: str
    read: int
    accepted: int
    rejected: int
    missing_optional_columns: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.table}: {self.read} read, {self.accepted} accepted, {self.rejected} rejected"


@dataclass(frozen=True)
class Dataset:
    """Typed tables keyed by table name.

    dtypes: id, text and category columns are pandas ``str`` (categories lower-case); dates are
    naive ``datetime64`` in UTC; float and int columns are ``float64`` (NaN when missing).
    A table or optional column that the source lacks is absent, not filled.
    """

    tables: dict[str, pd.DataFrame]
    as_of: pd.Timestamp
    reports: dict[str, TableReport] = field(default_factory=dict)
    rejects: dict[str, pd.DataFrame] = field(default_factory=dict)
    as_of_source: AsOfSource = "argument"

    def as_of_text(self) -> str:
        """The as-of date and where it came from, e.g. for the CLI's first line."""
        return f"as-of date {self.as_of:%Y-%m-%d}: {AS_OF_SOURCES[self.as_of_source]}"

    def has(self, table: str, column: str | None = None) -> bool:
        """Whether the table (and, if given, the column) is present."""
        frame = self.tables.get(table)
        return frame is not None and (column is None or column in frame.columns)

    def table(self, name: str) -> pd.DataFrame | None:
        return self.tables.get(name)
