"""Process-wide defaults set by the entry points before heavy libraries load."""

from __future__ import annotations

import os
import subprocess
import sys

from core.process import ARROW_POOL, ARROW_POOL_ENV, NO_TELEMETRY, set_process_defaults

PROBE = (
    "from core.process import set_process_defaults; set_process_defaults(); "
    "import pyarrow as pa; print(pa.default_memory_pool().backend_name)"
)


def _pool(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_arrow_uses_the_system_allocator_unless_the_environment_chose_one(monkeypatch):
    env = {k: v for k, v in os.environ.items() if k != ARROW_POOL_ENV}
    assert _pool(env) == ARROW_POOL
    assert _pool(env | {ARROW_POOL_ENV: "jemalloc"}) == "jemalloc"
    monkeypatch.setenv(ARROW_POOL_ENV, "jemalloc")
    set_process_defaults()
    assert os.environ[ARROW_POOL_ENV] == "jemalloc"


def test_mlflow_and_bentoml_send_no_usage_records_unless_the_environment_allows_it():
    probe = (
        "import os; from core.process import set_process_defaults; set_process_defaults(); "
        "from mlflow.telemetry.utils import is_telemetry_disabled; "
        "print(is_telemetry_disabled(), *(os.environ[k] for k in sorted(NAMES)))"
    ).replace("NAMES", repr(set(NO_TELEMETRY)))
    env = {k: v for k, v in os.environ.items() if k not in NO_TELEMETRY}
    run = [sys.executable, "-c", probe]
    done = subprocess.run(run, env=env, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "True", "true"]
    mine = env | {"MLFLOW_DISABLE_TELEMETRY": "false", "BENTOML_DO_NOT_TRACK": "False"}
    done = subprocess.run(run, env=mine, capture_output=True, text=True, check=True)
    assert done.stdout.split()[1:] == ["False", "false"]  # the user's choice is kept
