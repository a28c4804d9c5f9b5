"""One way to read configuration: every section through core.config.load_section, with one error
format and command-line overrides merged into nested keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from churn.commands.generate import read_config
from core.config import load_section
from features.config import FeatureConfig, load_feature_config
from features.pipeline.cutoffs import FeatureError
from features.synthetic.generator import GeneratorError
from kpi.config import KpiError, load_kpi_config, service_kpi_config
from training.bench.suite import load_bench_config
from training.config import ConfigError


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_overrides_replace_one_nested_key_and_keep_the_rest(tmp_path: Path) -> None:
    path = _file(tmp_path, "features: {labels: {horizon_days: 60}, windows_days: [30]}\n")
    cfg = load_section(
        path, "features", FeatureConfig, FeatureError, overrides={"labels": {"horizon_days": 45}}
    )
    assert cfg.labels.horizon_days == 45 and cfg.windows_days == (30,)
    assert load_feature_config(path, horizon_days=45) == cfg
    assert load_feature_config(path).labels.horizon_days == 60


@pytest.mark.parametrize(
    ("section", "load", "error"),
    [
        ("features", load_feature_config, FeatureError),
        ("generator", read_config, GeneratorError),
        ("bench", load_bench_config, ConfigError),
        ("kpi", load_kpi_config, KpiError),
    ],
)
def test_every_section_reports_problems_alike(tmp_path: Path, section, load, error) -> None:
    path = _file(tmp_path, f"{section}: {{surprise: 1}}\n")
    with pytest.raises(error) as exc:
        load(path)
    lines = str(exc.value).splitlines()
    assert lines[0].startswith(f"{path}: invalid ") and lines[0].endswith(" configuration")
    assert lines[1].strip().startswith(f"{section}.surprise: ")


def test_the_service_keeps_an_invalid_kpi_section_as_its_error(tmp_path: Path) -> None:
    bad = _file(tmp_path, "kpi: {ranking: {min_ranked: 0}}\n")
    assert isinstance(service_kpi_config(bad), KpiError)
    assert service_kpi_config(None) == load_kpi_config(None)
