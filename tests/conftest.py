"""Suite-wide isolation: every test session writes under its own CHURN_HOME, never the repo."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _isolated_home(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("churn-home")
    saved = {k: os.environ.get(k) for k in ("CHURN_HOME", "MLFLOW_TRACKING_URI", "CHURN_API_KEY")}
    os.environ["CHURN_HOME"] = str(home)
    for key in ("MLFLOW_TRACKING_URI", "CHURN_API_KEY"):
        os.environ.pop(key, None)
    yield home
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
