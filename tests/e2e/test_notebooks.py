"""The analysts' notebooks run top to bottom on generated demo data, in order (01 writes the
data, 02 trains the champions that 03 and 04 use), in a temporary CHURN_HOME; the committed
notebooks carry no outputs."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import nbformat
import pytest
import yaml
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
ORDER = (
    "01_data_contract.ipynb",
    "02_training_mlflow.ipynb",
    "03_explaining_scores.ipynb",
    "04_kpi_scorecards.ipynb",
)


def test_every_notebook_is_listed_and_committed_without_outputs():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(ORDER)
    for name in ORDER:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{name} has outputs"


@pytest.mark.slow
def test_notebooks_run_top_to_bottom(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path / "home"
    monkeypatch.setenv("CHURN_HOME", str(home))
    monkeypatch.setenv("CHURN_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("CHURN_DEMO_CUSTOMERS", "1500")
    quick = {"training": {"selection": {"validation_cutoffs": 1, "candidates": ["lightgbm"]}}}
    (tmp_path / "training.yaml").write_text(yaml.safe_dump(quick), "utf-8")
    monkeypatch.setenv("CHURN_TRAINING_CONFIG", str(tmp_path / "training.yaml"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    for key in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        monkeypatch.delenv(key, raising=False)
    for name in ORDER:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        client = NotebookClient(
            nb,
            timeout=600,
            kernel_name="python3",
            resources={"metadata": {"path": str(NOTEBOOKS)}},
        )
        client.execute()  # raises CellExecutionError naming the cell and the error
        errors = [
            out
            for cell in nb.cells
            for out in cell.get("outputs", [])
            if out.get("output_type") == "error"
        ]
        assert errors == [], f"{name}: {errors}"
    assert (home / "mlflow.db").is_file()
    assert not (NOTEBOOKS / ".churn").exists() and not (NOTEBOOKS / "mlflow.db").exists()
    assert os.environ["CHURN_HOME"] == str(home)


def test_make_notebooks_serves_jupyterlab_on_loopback_over_the_demo_data(tmp_path: Path):
    """`make -n -B` prints every recipe the target would run (all of them, as if out of date)."""
    env = {**os.environ, "CHURN_HOME": str(tmp_path)}
    dry = subprocess.run(
        ["make", "-n", "-B", "notebooks"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = dry.stdout.replace("\\\n", " ").splitlines()
    demo = [line for line in lines if "churn demo" in line]
    lab = [shlex.split(line) for line in lines if "jupyter lab" in line]
    assert demo == [
        f'test -d "{tmp_path}/demo-run/data" || CHURN_HOME="{tmp_path}" .venv/bin/churn demo'
    ]
    assert len(lab) == 1, dry.stdout
    args = lab[0]
    assert args[args.index("--ip") + 1] == "127.0.0.1" and "--no-browser" in args
    assert f"CHURN_DATA={tmp_path}/demo-run/data" in args and f"CHURN_HOME={tmp_path}" in args
    installs = [line.replace('"', "") for line in lines if "uv pip install" in line]
    assert installs[0].endswith("-c requirements.lock -e .[dev]"), installs  # make test/demo
    assert installs[-1].endswith("-c requirements.lock -e .[dev,notebooks]"), installs
