"""Why rows of a table are rejected, gathered rule by rule.

Each broken rule is kept as a row mask and its text; the ``; ``-joined strings are made only for
the rows that fail. Building a string per row up front (an empty one for every passing row) cost
more than the checks themselves on a few million events.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


class RowReasons:
    """The reasons rows of one frame fail, in the order the rules were applied."""

    def __init__(self, index: pd.Index) -> None:
        self.index = index
        self._parts: list[tuple[np.ndarray, pd.Series | str]] = []

    def add(self, rows: pd.Series | np.ndarray, text: pd.Series | str) -> None:
        """Give the ``rows`` (a mask over the index) a reason: one text, or a text per row
        (a series holding at least those rows' labels)."""
        mask = np.asarray(rows, dtype=bool)
        if mask.any():
            if isinstance(text, pd.Series):
                text = text.reindex(self.index[mask])
            self._parts.append((mask, text))

    def extend(self, other: RowReasons) -> None:
        """Add the reasons of ``other``, gathered over some of these rows."""
        positions = self.index.get_indexer(other.index)
        for mask, text in other._parts:
            full = np.zeros(len(self.index), dtype=bool)
            full[positions[mask]] = True
            self._parts.append((full, text))

    def failing(self) -> np.ndarray:
        """A mask of the rows with at least one reason."""
        out = np.zeros(len(self.index), dtype=bool)
        for mask, _ in self._parts:
            out |= mask
        return out

    def texts(self) -> pd.Series:
        """Each failing row's reasons joined by ``; ``, indexed by the failing rows only."""
        failing = self.failing()
        out = pd.Series("", index=self.index[failing], dtype="str")
        for mask, text in self._parts:
            rows = mask[failing]
            current = out[rows]
            out[rows] = current.where(current == "", current + "; ") + text
        return out
