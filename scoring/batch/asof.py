"""The as-of date of a batch and the batch's user error: light (standard library and pandas), so
``churn score`` checks its date before it imports the models."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from core.errors import ChurnError


class BatchError(ChurnError):
    """Batch scoring cannot run (bad date, data that lacks what the models need)."""


def parse_asof(asof: str) -> pd.Timestamp:
    """``YYYY-MM-DD`` as a midnight timestamp; BatchError otherwise."""
    try:
        ts = pd.Timestamp(datetime.strptime(asof, "%Y-%m-%d"))
    except (TypeError, ValueError) as exc:
        raise BatchError(f"as-of date {asof!r} is not a date in the form YYYY-MM-DD") from exc
    return ts
