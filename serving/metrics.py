"""The service's own Prometheus metrics, exported on ``/metrics`` beside BentoML's.

- ``churn_monitor_*``: the latest ``churn monitor`` result (drifted features, the ROC-AUC that
  CBPE estimated before labels, prediction drift, alerts, its as-of date); NaN until there is one.
- ``churn_prediction_churn_probability``: a histogram of the churn probabilities the API returned
  (the score distribution of recent requests: ``rate()`` over any window), and
  ``churn_predictions_total`` by endpoint and risk band.
- ``churn_prediction_log_*``: rows the prediction log dropped and its failed writes.

BentoML runs every worker with ``PROMETHEUS_MULTIPROC_DIR`` set, so counts add up across workers
and the monitoring gauges report the most recently set value.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

log = logging.getLogger(__name__)

PROBABILITY_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
NAN = float("nan")


def _number(value: Any) -> float:
    """A finite float, or NaN for anything else (a missing estimate stays visibly missing)."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return NAN
    return out if math.isfinite(out) else NAN


class ServiceMetrics:
    """The metrics of one worker; ``registry`` only for tests (the service uses the default)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        # imported here: BentoML sets the multiprocess directory in the worker before this runs
        import prometheus_client as prom

        reg = registry or prom.REGISTRY

        def gauge(name: str, doc: str) -> Any:
            made = prom.Gauge(name, doc, registry=reg, multiprocess_mode="mostrecent")
            made.set(NAN)
            return made

        self.drifted = gauge(
            "churn_monitor_drifted_features",
            "Features the latest churn monitor run flagged as drifted",
        )
        self.features = gauge(
            "churn_monitor_features", "Features the latest churn monitor run measured"
        )
        self.estimated_roc_auc = gauge(
            "churn_monitor_estimated_roc_auc",
            "ROC-AUC estimated by CBPE for the latest monitored date, before labels exist",
        )
        self.prediction_drift = gauge(
            "churn_monitor_prediction_drift",
            "Jensen-Shannon distance of the churn score distribution from the reference",
        )
        self.alerts = gauge("churn_monitor_alerts", "Alerts the latest churn monitor run raised")
        self.asof = gauge(
            "churn_monitor_asof_timestamp_seconds",
            "As-of date of the latest churn monitor run (Unix time)",
        )
        self.scores = prom.Histogram(
            "churn_prediction_churn_probability",
            "Churn probabilities the API returned",
            buckets=PROBABILITY_BUCKETS,
            registry=reg,
        )
        self.predictions = prom.Counter(
            "churn_predictions",
            "Predictions the API returned, by endpoint and risk band",
            ["endpoint", "risk_band"],
            registry=reg,
        )
        self.log_dropped = prom.Counter(
            "churn_prediction_log_dropped_rows",
            "Predictions never written to the prediction log (buffer full while the store failed)",
            registry=reg,
        )
        self.log_failures = prom.Counter(
            "churn_prediction_log_write_failures",
            "Failed writes of the prediction log (the rows are tried again)",
            registry=reg,
        )
        self._seen: tuple[int, int] | None = None

    def observe(self, endpoint: pd.Series, probability: np.ndarray, band: pd.Series) -> None:
        """Count a batch of answered predictions (aligned arrays, one entry per prediction)."""
        for p in probability.tolist():
            self.scores.observe(p)
        counts = pd.DataFrame({"e": endpoint, "b": band}).value_counts()
        for (e, b), n in counts.items():
            self.predictions.labels(endpoint=e, risk_band=b).inc(int(n))

    def follow(self, path: Path) -> bool:
        """Export the monitoring result at ``path`` when it changed since the last call; True
        when the gauges were set (an unreadable file is logged and leaves them as they were)."""
        try:
            stat = path.stat()
        except FileNotFoundError:
            return False
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._seen:
            return False
        self._seen = stamp
        try:
            result = json.loads(path.read_text("utf-8"))
            features = result["features"]
            asof = pd.Timestamp(result["asof"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("monitoring result %s unreadable, metrics unchanged: %s", path.name, exc)
            return False
        self.features.set(len(features))
        self.drifted.set(sum(bool(f.get("drifted")) for f in features))
        self.estimated_roc_auc.set(_number((result.get("estimated") or {}).get("roc_auc")))
        self.prediction_drift.set(_number((result.get("prediction_drift") or {}).get("value")))
        self.alerts.set(len(result.get("alerts") or []))
        self.asof.set(asof.timestamp())
        return True
