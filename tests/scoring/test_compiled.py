"""Compiled trees for batch scoring: LightGBM's predictions from a C library, cached per model
version, and LightGBM itself wherever compiling or the check fails."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from scoring import compiled
from scoring.champions import Champions
from scoring.compiled import LIBRARY, TOLERANCE, cache_folder, compiled_booster


@pytest.fixture(scope="module")
def matrix(champions: Champions, scoring_frame: pd.DataFrame) -> np.ndarray:
    return champions.churn.encoded(scoring_frame)


def test_compiled_trees_predict_what_lightgbm_predicts(champions: Champions, matrix):
    for bundle, name in ((champions.churn, "churn-t"), (champions.value, "value-t")):
        model = compiled_booster(bundle.booster, name, "1", matrix)
        assert model is not None, name
        want = bundle.booster.predict(matrix)
        np.testing.assert_allclose(model.predict(matrix), want, rtol=TOLERANCE, atol=1e-12)
        assert model.path == cache_folder(name, "1", bundle.booster)
        built = (model.path / LIBRARY).stat().st_mtime_ns
        again = compiled_booster(bundle.booster, name, "1", matrix)  # from the cache
        assert again is not None and (again.path / LIBRARY).stat().st_mtime_ns == built


def test_blocks_of_rows_join_in_order(champions: Champions, matrix, monkeypatch):
    monkeypatch.setattr(compiled, "CHUNK_ROWS", 7)  # blocks of 7 rows and a shorter last one
    model = compiled_booster(champions.churn.booster, "churn-t", "1", matrix)
    assert model is not None and len(matrix) % 7
    want = champions.churn.booster.predict(matrix)
    np.testing.assert_allclose(model.predict(matrix), want, rtol=TOLERANCE, atol=1e-12)


def test_without_a_compiler_lightgbm_scores_and_the_log_says_so(
    champions: Champions, matrix, monkeypatch, caplog
):
    monkeypatch.setattr(compiled, "TOOLCHAIN", "/nonexistent/cc")
    with caplog.at_level(logging.WARNING, logger="scoring.compiled"):
        model = compiled_booster(champions.churn.booster, "no-compiler", "1", matrix)
    assert model is None
    assert "compiled trees unavailable" in caplog.text and "scoring with LightGBM" in caplog.text
    assert not cache_folder("no-compiler", "1", champions.churn.booster).exists()


def test_a_model_that_disagrees_is_not_used_and_the_verdict_is_kept(champions: Champions, matrix):
    booster = champions.churn.booster
    model = compiled_booster(booster, "checked", "1", matrix)
    assert model is not None
    verdict = model.path / compiled.VERDICT
    verdict.write_text('{"agrees": false, "rows": 1}', encoding="utf-8")
    assert compiled_booster(booster, "checked", "1", matrix) is None
    assert not compiled._agrees(np.array([0.2, 0.1]), np.array([0.1, 0.2]))
    assert compiled._agrees(np.array([0.1, 0.1, 0.3]), np.array([0.1, 0.1, 0.3]))
