"""The training: section of a YAML file: defaults, validation messages, other sections ignored."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.config import load_feature_config
from training.config import ConfigError, TrainingConfig, load_training_config

SHIPPED = Path(__file__).parents[2] / "configs" / "training.yaml"


def test_shipped_file_holds_the_defaults():
    assert load_training_config(SHIPPED) == TrainingConfig()


def test_reads_only_its_section(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "kpi: {anything: [1, 2]}\nserving: {port: 1}\n"
        "features: {windows_days: [30, 90]}\n"
        "training: {seed: 7, churn: {calibration: platt}}\n"
    )
    cfg = load_training_config(path)
    assert cfg.seed == 7 and cfg.churn.calibration == "platt"
    assert cfg.value == TrainingConfig().value
    assert load_feature_config(path).windows_days == (30, 90)
    assert load_training_config(None) == TrainingConfig()


def test_bad_values_name_the_field(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("training: {churn: {params: {num_leaves: 1}}, surprise: 3}\n")
    with pytest.raises(ConfigError) as exc:
        load_training_config(path)
    assert "training.churn.params.num_leaves" in str(exc.value)
    assert "training.surprise" in str(exc.value)


def test_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_training_config(tmp_path / "nope.yaml")


def test_config_is_frozen():
    with pytest.raises(Exception, match="frozen"):
        TrainingConfig().seed = 1  # type: ignore[misc]


def test_churn_train_refuses_a_bad_config_before_reading_data(tmp_path):
    from typer.testing import CliRunner

    from churn.cli import register_commands

    path = tmp_path / "c.yaml"
    path.write_text("training: {split: {train_cutoffs: 0}}\n")
    result = CliRunner().invoke(
        register_commands(), ["train", "--data", str(tmp_path / "none"), "--config", str(path)]
    )
    assert isinstance(result.exception, ConfigError)
    assert "training.split.train_cutoffs" in str(result.exception)
