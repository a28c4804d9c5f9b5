"""Typed configuration of monitoring: the ``monitoring:`` section of a YAML file.

The drift thresholds were chosen on generated data without drift, measuring every feature between
the champion's training cutoffs and later monthly cutoffs over a year (all seasons), so that an
undrifted feature is almost never flagged; ``benchmarks/monitoring.py`` reproduces the figures
and docs/monitoring.md shows them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from core.config import Frozen, load_section
from core.errors import ChurnError
from core.paths import home

SECTION = "monitoring"
LATEST = "latest.json"


def latest_path() -> Path:
    """Where the latest monitoring result lives: ``$CHURN_HOME/monitoring/latest.json`` (here,
    not in :mod:`monitoring.run`, so the service finds it without importing the job)."""
    return home() / "monitoring" / LATEST


class MonitorError(ChurnError):
    """Monitoring cannot run (bad date, no champion, no reference, unreadable config)."""


class MonitorConfig(Frozen):
    """Drift statistics, thresholds and alert rules."""

    bins: int = Field(10, ge=2, le=100)
    """Quantile bins of the reference that a number is counted in (missing values: a bin more)."""
    numeric_threshold: float = Field(0.1, gt=0, le=1)
    """Jensen-Shannon distance (base 2) above which a numeric feature is drifted."""
    categorical_threshold: float = Field(0.1, gt=0)
    """Population stability index above which a categorical feature is drifted."""
    prediction_threshold: float = Field(0.1, gt=0, le=1)
    """Jensen-Shannon distance of the churn-probability distribution above which it drifted."""
    capacity: int | None = Field(None, ge=1)
    """Contacts of the campaign that precision is measured at; None: the KPI campaign's
    ``capacity_per_manager`` times the managers in the scored population."""
    auc_gap: float = Field(0.02, gt=0, le=1)
    """Alert when a realized ROC-AUC falls below its CBPE estimate by more than this or three
    standard errors of the realized ROC-AUC (Hanley-McNeil), whichever is larger (a concept
    shift: the features no longer mean what they meant); likewise a realized or estimated
    ROC-AUC below the champion's test ROC-AUC."""
    churn_rate_gap: float = Field(0.3, gt=0)
    """Alert when a realized churn rate differs from the mean predicted probability by more than
    this share of it (calibration lost)."""
    size_change: float = Field(0.25, gt=0)
    """Alert when the scored population's size differs from the reference's by more than this
    share."""
    share_change: float = Field(0.1, gt=0, le=1)
    """Alert when a segment's share moves by more than this (absolute). Lifecycle shares are
    reported, not alerted on: at a past cutoff they judge contracts by the end dates on file
    today, so they cannot be compared fairly."""
    max_listed: int = Field(8, ge=1)
    """Drifted features an alert names (the largest first)."""


def load_monitor_config(path: str | Path | None) -> MonitorConfig:
    """The ``monitoring:`` section of a YAML file (defaults when absent)."""
    return load_section(path, SECTION, MonitorConfig, MonitorError)
