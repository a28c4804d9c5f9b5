"""The serving: section: safe defaults, validation that names the field, other sections ignored."""

from __future__ import annotations

import pytest

from core.paths import home
from scoring.config import ServingConfigError, load_serving_config, serving_config_from_env
from serving.launch import base_url, is_loopback, serve_command, serve_env


def test_defaults_bind_loopback_and_bound_requests(monkeypatch):
    monkeypatch.delenv("CHURN_SERVING_CONFIG", raising=False)
    cfg = serving_config_from_env()
    assert cfg.host == "127.0.0.1" and is_loopback(cfg.host)
    assert cfg.max_batch_size == 1000 and cfg.max_body_bytes == 8_000_000
    assert cfg.resolved_store_url() == f"sqlite:///{home() / 'serving.db'}"
    command = serve_command(cfg.host, cfg.port)
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert command[command.index("--port") + 1] == "3000"
    assert base_url(cfg) == "http://127.0.0.1:3000"


def test_the_shipped_file_and_other_sections(tmp_path):
    cfg = load_serving_config("configs/serving.yaml")
    assert cfg == load_serving_config(None)
    other = tmp_path / "c.yaml"
    other.write_text("training:\n  seed: 3\nserving:\n  port: 4000\n  top_k: 3\n", "utf-8")
    assert load_serving_config(other).port == 4000


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("serving:\n  risk_bands: {high: 0.2, medium: 0.4}\n", "serving.risk_bands"),
        ("serving:\n  max_batch_size: 0\n", "serving.max_batch_size"),
        ("serving:\n  bogus: 1\n", "serving.bogus"),
        ("serving: [1, 2]\n", "must be a mapping"),
        ("serving: {port: [\n", "cannot be read as YAML"),
    ],
)
def test_bad_files_name_the_field(tmp_path, text, where):
    path = tmp_path / "bad.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(ServingConfigError, match=where.replace(".", r"\.")):
        load_serving_config(path)


def test_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(ServingConfigError, match="does not exist"):
        load_serving_config(tmp_path / "nope.yaml")


def test_service_environment(tmp_path):
    env = serve_env(tmp_path / "s.yaml", base={"PATH": "/bin", "OMP_NUM_THREADS": "4"})
    assert env["CHURN_SERVING_CONFIG"] == str((tmp_path / "s.yaml").resolve())
    assert env["OMP_NUM_THREADS"] == "4" and env["BENTOML_DO_NOT_TRACK"] == "True"
    assert "CHURN_SERVING_CONFIG" not in serve_env(None, base={"CHURN_SERVING_CONFIG": "x"})
    assert not is_loopback("0.0.0.0") and is_loopback("::1") and is_loopback("localhost")


def test_cli_refuses_bad_input_before_starting_anything(tmp_path):
    from typer.testing import CliRunner

    from churn.cli import app, register_commands
    from scoring.batch.job import BatchError

    register_commands()
    runner = CliRunner()
    result = runner.invoke(app, ["serve", "--config", str(tmp_path / "nope.yaml")])
    assert isinstance(result.exception, ServingConfigError)
    result = runner.invoke(app, ["score", "--data", str(tmp_path), "--asof", "30/06/2024"])
    assert isinstance(result.exception, BatchError) and "YYYY-MM-DD" in str(result.exception)
