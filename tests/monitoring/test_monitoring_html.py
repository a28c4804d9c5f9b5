"""The monitoring page from its template file: every section is written, and names taken from the
data (features, segments, alerts) reach it as text, never as markup."""

from __future__ import annotations

from pathlib import Path

from monitoring.html import write_html

PAYLOAD = "<script>alert(1)</script>"


def _result() -> dict:
    feature = {"statistic": "PSI", "threshold": 0.2}
    return {
        "asof": "2024-05-01",
        "model": {"name": "churn", "version": "3", "test_roc_auc": 0.81},
        "reference": {"source": "training", "cutoffs": ["2024-01-01"], "n": 100},
        "alerts": [f"feature drift: {PAYLOAD}"],
        "estimated": {
            "capacity": 50,
            "roc_auc": 0.8,
            "precision_at_capacity": None,
            "ece": 0.01,
            "n": 10,
        },  # fmt: skip
        "realized": [],
        "prediction_drift": {"statistic": "JS", "value": 0.05, "threshold": 0.1, "drifted": True},
        "population": {
            "current_size": 10,
            "reference_size": 9,
            "segments": {PAYLOAD: {"reference": 0.5, "current": 0.25}},
        },
        "features": [
            {**feature, "name": "calm", "value": 0.01, "drifted": False},
            {**feature, "name": PAYLOAD, "value": 0.3, "drifted": True},
        ],
    }


def test_page_is_written_from_its_template_and_escapes_names(tmp_path: Path):
    page = write_html(_result(), tmp_path / "m" / "page.html").read_text("utf-8")
    assert "<script" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 3  # alert, segment, feature
    assert "Churn model monitoring as of 2024-05-01" in page and "25.0%" in page
    assert page.index("<td>&lt;script&gt;") < page.index("<td>calm</td>")  # largest drift first
    assert "No stored scoring has reached the end of its horizon yet." in page
