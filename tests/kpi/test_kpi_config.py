"""The KPI configuration: shipped defaults and a clear message for each kind of mistake."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from kpi.config import KpiConfig, KpiError, kpi_config_from_dict, load_kpi_config

SHIPPED = Path(__file__).resolve().parents[2] / "configs" / "kpi.yaml"


def _section() -> dict:
    return copy.deepcopy(yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))["kpi"])


def test_shipped_file_holds_the_business_rules_defaults():
    cfg = load_kpi_config(SHIPPED)
    assert cfg == KpiConfig()
    tiers = cfg.commission.tiers
    assert [(t.min, t.max, t.rate) for t in tiers] == [
        (0, 100_000, 0.03),
        (100_000, 300_000, 0.05),
        (300_000, None, 0.08),
    ]
    assert cfg.commission.satisfaction_bonus_rate == 0.02
    assert cfg.commission.satisfaction_bonus_threshold == 0.80
    assert cfg.commission.retention_rate == 0.05
    assert [(g.grade, g.min, g.max) for g in cfg.scorecard.grades] == [
        ("Excellent", 90, 100),
        ("Good", 70, 90),
        ("Fair", 60, 70),
        ("Poor", 0, 60),
    ]
    assert sum(rule.weight for _, rule in cfg.scorecard.components) == 100
    assert (cfg.ranking.first_place_bonus, cfg.ranking.last_place_deduction) == (100, 100)
    assert cfg.ranking.improvement_plan_bottom == 2


def test_other_sections_are_ignored_and_no_file_means_defaults(tmp_path):
    path = tmp_path / "all.yaml"
    path.write_text("features: {windows_days: [7]}\ntraining: {anything: 1}\n", encoding="utf-8")
    assert load_kpi_config(path) == KpiConfig()
    assert load_kpi_config(None) == KpiConfig()


def _error(section: dict) -> str:
    with pytest.raises(KpiError) as info:
        kpi_config_from_dict(section, "my.yaml")
    return str(info.value)


def test_weights_not_adding_up_to_100():
    section = _section()
    section["scorecard"]["components"]["satisfaction"]["weight"] = 10
    msg = _error(section)
    assert msg.startswith("my.yaml: invalid KPI configuration")
    assert "kpi.scorecard.components: component weights add up to 95, not 100" in msg
    assert "satisfaction=10" in msg


def test_overlapping_tiers():
    section = _section()
    section["commission"]["tiers"][1]["min"] = 90_000
    assert "tiers 1 and 2 overlap between 90,000 and 100,000" in _error(section)


def test_unordered_tiers():
    section = _section()
    section["commission"]["tiers"].reverse()
    assert "tiers must be listed in increasing order of min, got 300,000, 100,000, 0" in _error(
        section
    )


def test_gap_between_tiers():
    section = _section()
    section["commission"]["tiers"][1]["min"] = 120_000
    assert "sales between 100,000 and 120,000 are in no tier" in _error(section)


def test_tier_edge_in_two_tiers_or_none():
    section = _section()
    section["commission"]["tiers"][2]["include_min"] = True
    assert "sales of exactly 300,000 are in tiers 2 and 3" in _error(section)
    section["commission"]["tiers"][2]["include_min"] = False
    section["commission"]["tiers"][1]["include_max"] = False
    assert "sales of exactly 300,000 are in no tier" in _error(section)


def test_top_tier_must_be_open():
    section = _section()
    section["commission"]["tiers"][2]["max"] = 1_000_000
    assert "sales above 1,000,000 are not covered" in _error(section)


def test_grade_band_left_uncovered():
    section = _section()
    section["scorecard"]["grades"][1]["min"] = 75
    assert "scores from 70 to 75 have no grade band (between 'Fair' and 'Good')" in _error(section)
    section = _section()
    section["scorecard"]["grades"][3]["min"] = 10
    assert "scores from 0 to 10 have no grade band" in _error(section)


def test_overlapping_grade_bands():
    section = _section()
    section["scorecard"]["grades"][1]["min"] = 65
    assert "grade bands 'Fair' and 'Good' overlap between 65 and 70" in _error(section)


def test_field_errors_name_the_field():
    section = _section()
    section["commission"]["retention_rate"] = 5
    assert "kpi.commission.retention_rate: Input should be less than or equal to 1" in _error(
        section
    )
    assert "kpi.colour: Extra inputs are not permitted" in _error({"colour": "red"})
    section = _section()
    section["scorecard"]["components"]["sales_vs_quota"]["full_at"] = 0.0
    assert "zero_at and full_at are both 0; they must differ" in _error(section)


def test_unreadable_or_missing_file(tmp_path):
    with pytest.raises(KpiError, match="does not exist"):
        load_kpi_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("kpi: [1, 2\n", encoding="utf-8")
    with pytest.raises(KpiError, match="cannot be read as YAML"):
        load_kpi_config(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("kpi: [1, 2]\n", encoding="utf-8")
    with pytest.raises(KpiError, match="the 'kpi:' section must be a mapping"):
        load_kpi_config(listy)


def test_config_is_frozen():
    cfg = KpiConfig()
    with pytest.raises(Exception, match="frozen"):
        cfg.ranking.first_place_bonus = 5  # type: ignore[misc]
