"""Store and registry failures in the CLI: one line with the next step, the traceback only with
``--verbose``, and the previous lists and store left as they were."""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from churn.cli import failure_line

ROOT = Path(__file__).resolve().parents[2]


def test_disk_full_and_bugs_are_told_apart() -> None:
    full = OSError(errno.ENOSPC, "No space left on device", "/data/at_risk.csv")
    assert "no space left" in (failure_line(full) or "")
    assert failure_line(ValueError("a bug")) is None  # a bug keeps its traceback


@pytest.mark.slow
def test_a_store_integrity_error_in_score_is_one_line(world, tmp_path: Path) -> None:
    store = tmp_path / "serving.db"
    shutil.copyfile(world.root / "serving.db", store)
    with sqlite3.connect(store) as db:
        runs_before = db.execute("SELECT COUNT(*) FROM scoring_runs").fetchone()[0]
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON scoring_runs "
            "BEGIN SELECT RAISE(ABORT, 'constraint failed'); END"
        )
    out = tmp_path / "at_risk.csv"
    out.write_text("previous list\n", encoding="utf-8")
    args = [
        sys.executable, "-m", "churn", "score", "--data", str(world.data), "--asof", world.asof,
        "--config", str(world.config), "--store", f"sqlite:///{store}", "--out", str(out),
        "--win-back-out", str(tmp_path / "win_back.csv"),
    ]  # fmt: skip
    env = {**os.environ, "CHURN_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}
    quiet = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 2, quiet.stderr
    assert "Traceback" not in quiet.stderr and "INSERT" not in quiet.stderr
    assert "the prediction store failed (IntegrityError: constraint failed)" in quiet.stderr
    assert "--verbose shows the traceback" in quiet.stderr
    assert out.read_text(encoding="utf-8") == "previous list\n"
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT COUNT(*) FROM scoring_runs").fetchone()[0] == runs_before
    verbose = subprocess.run(
        [args[0], "-m", "churn", "--verbose", *args[3:]],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert verbose.returncode == 2 and "Traceback" in verbose.stderr
