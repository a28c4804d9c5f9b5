"""The API's prediction log: what ``/predict`` and ``/predict_by_id`` answered, buffered in memory
and written to the store's ``api_predictions`` table in bulk, off the request path.

A request only appends a reference to its answers (no copy, no I/O). Every
``flush_s`` a background thread turns the buffer into one frame, counts it on ``/metrics`` and
writes it in one transaction that also trims the table to ``max_rows``. A failed write never
fails a prediction: the rows stay buffered and go with the next write; while the store is down
the buffer keeps the newest ``buffer_rows`` and counts what it drops.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from scoring.config import PredictionLogConfig
from scoring.store.schema import API_LOG_COLUMNS
from serving.metrics import ServiceMetrics

log = logging.getLogger(__name__)

Write = Callable[[pd.DataFrame, int], None]
"""Appends rows to the log and trims it to the newest n (``PredictionStore.append_api_predictions``)."""


@dataclass(frozen=True)
class _Answered:
    """One request's answers as they were, and the customers' managers when known."""

    at: datetime
    endpoint: str
    asof: str | None  # None: the day of the request
    predictions: Sequence[Any]  # serving.schemas.Prediction
    managers: Sequence[Any] | None


def _text(values: list[Any]) -> list[str | None]:
    return [None if v is None else str(v) for v in values]


def log_frame(answered: Sequence[_Answered]) -> pd.DataFrame:
    """The buffered answers as rows of ``api_predictions`` (``API_LOG_COLUMNS``)."""
    counts = [len(a.predictions) for a in answered]
    preds = [p for a in answered for p in a.predictions]
    n = len(preds)
    at = np.repeat(np.array([a.at for a in answered], dtype="datetime64[us]"), counts)

    def floats(name: str) -> np.ndarray:
        return np.fromiter((getattr(p, name) for p in preds), dtype=np.float64, count=n)

    asof = np.repeat(np.array([a.asof for a in answered], dtype=object), counts)
    days = pd.Series(at).dt.strftime("%Y-%m-%d").to_numpy(dtype=object)
    frame = pd.DataFrame(
        {
            "logged_at": at,
            "asof": np.where(pd.isna(asof), days, asof),
            "endpoint": np.repeat(np.array([a.endpoint for a in answered], dtype=object), counts),
            "customer_id": _text([p.customer_id for p in preds]),
            "account_manager_id": _text(
                [m for a in answered for m in (a.managers or [None] * len(a.predictions))]
            ),
            "churn_probability": floats("churn_probability"),
            "predicted_value": floats("predicted_value"),
            "risk_band": [p.risk_band for p in preds],
            "churn_model_version": [p.churn_model_version for p in preds],
            "value_model_version": [p.value_model_version for p in preds],
        }
    )
    return frame[list(API_LOG_COLUMNS)]


class PredictionLog:
    """The buffer between the request path and the store (see the module's docstring)."""

    def __init__(
        self, cfg: PredictionLogConfig, write: Write | None, metrics: ServiceMetrics | None
    ) -> None:
        self.cfg = cfg
        self._write = write if cfg.max_rows > 0 else None
        self._metrics = metrics
        self._pending: deque[_Answered] = deque()
        self._pending_rows = 0
        self._unwritten: pd.DataFrame | None = None
        self._lock = threading.Lock()  # guards the pending buffer
        self._flushing = threading.Lock()  # one flush at a time (the thread and shutdown)

    def add(
        self,
        endpoint: str,
        predictions: Sequence[Any],
        asof: str | None = None,
        managers: Sequence[Any] | None = None,
    ) -> None:
        """Buffer one request's answers (``asof`` None: the day of the request; ``managers``
        aligned with them, when known)."""
        if not predictions:
            return
        answered = _Answered(
            datetime.now(UTC).replace(tzinfo=None), endpoint, asof, predictions, managers
        )
        dropped = 0
        with self._lock:
            self._pending.append(answered)
            self._pending_rows += len(predictions)
            while self._pending_rows > self.cfg.buffer_rows and len(self._pending) > 1:
                gone = len(self._pending.popleft().predictions)
                self._pending_rows -= gone
                dropped += gone
        if dropped:
            self._dropped(dropped)

    def _dropped(self, n: int) -> None:
        if self._metrics is not None:
            self._metrics.log_dropped.inc(n)
        log.warning(
            "prediction log: %d rows dropped (the buffer holds %d)", n, self.cfg.buffer_rows
        )

    def flush(self) -> int:
        """Count and write what is buffered; the number of rows written (0 when the write failed:
        the rows wait for the next flush)."""
        with self._flushing:
            with self._lock:
                answered = list(self._pending)
                self._pending.clear()
                self._pending_rows = 0
            fresh = log_frame(answered) if answered else None
            if fresh is not None and self._metrics is not None:
                self._metrics.observe(
                    fresh["endpoint"], fresh["churn_probability"].to_numpy(), fresh["risk_band"]
                )
            if self._write is None:
                return 0
            parts = [f for f in (self._unwritten, fresh) if f is not None]
            if not parts:
                return 0
            frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
            if len(frame) > self.cfg.buffer_rows:
                self._dropped(len(frame) - self.cfg.buffer_rows)
                frame = frame.tail(self.cfg.buffer_rows)
            try:
                self._write(frame, self.cfg.max_rows)
            except Exception as exc:  # any store trouble: keep the rows, never fail a request
                self._unwritten = frame
                if self._metrics is not None:
                    self._metrics.log_failures.inc()
                log.warning("prediction log: %d rows not written yet: %s", len(frame), exc)
                return 0
            self._unwritten = None
            return len(frame)
