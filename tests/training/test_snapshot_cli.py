"""``churn train-snapshot`` refuses what it cannot train with one clear line (exit 2, no traceback):
a missing label flag, flags that contradict each other, a folder, a file whose every row is
rejected; the old ``train-snapshot NAME PATH`` form still reaches the named data set's reader.
Successful runs are in tests/e2e/test_pyfunc_contract.py and tests/training/test_snapshot_job.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from churn.cli import register_commands

_spec = importlib.util.spec_from_file_location(
    "english", Path(__file__).resolve().parents[1] / "e2e" / "english.py"
)
assert _spec is not None and _spec.loader is not None
english = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(english)


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(register_commands(), ["train-snapshot", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, " ".join(result.output.split())


@pytest.fixture()
def csv(tmp_path: Path) -> Path:
    path = tmp_path / "crm.csv"
    pd.DataFrame(
        {
            "id": [f"c{i}" for i in range(40)],
            "left": [i % 2 for i in range(40)],
            "usage": [float(i) for i in range(40)],
            "spend": [-1.0] * 40,  # a customer value must be >= 0: every row is rejected
        }
    ).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "--label COL is needed"),
        (("--label", "left", "--cost", "usage"), "--cost needs --value"),
        (("--label", "left", "--name", "no good!"), "--name 'no good!'"),
        (("--label", "left", "--id", "left"), "--label and --id both name column 'left'"),
        (("--label", "gone"), "missing column(s) 'gone'"),
    ],
)
def test_bad_flags_are_refused_with_one_line(csv: Path, args: tuple[str, ...], message: str):
    code, output = _run(str(csv), *args)
    assert code == 2 and message in output and "Traceback" not in output


def test_a_file_whose_every_row_is_rejected_says_no_rows_were_accepted(csv: Path):
    code, output = _run(str(csv), "--id", "id", "--label", "left", "--value", "spend")
    assert code == 2
    assert "crm.csv: no rows accepted: all 40 rows were rejected" in output
    assert "'spend: customer value must be >= 0' (40 rows, first at row 2)" in output
    assert "single value" not in output


def test_named_data_sets_keep_both_forms(tmp_path: Path, csv: Path):
    missing = str(tmp_path / "nowhere")
    for args in (("telco", missing), (missing, "--spec", "telco")):
        code, output = _run(*args)
        assert code == 2 and "nowhere" in output and "no such file" in output
    code, output = _run("crm", missing)
    assert code == 2 and "train-snapshot PATH --spec NAME" in output
    code, output = _run(str(csv), "--spec", "telco", "--label", "left")
    assert code == 2 and "--spec telco reads that data set's own columns" in output
    code, output = _run(str(tmp_path), "--label", "left")
    assert code == 2 and "is a folder" in output


SNAPSHOT_SPEC = """
kind: snapshot
name: smallco
file: {file}
id: id
label: left
positive: ["1"]
value: usage
"""


def test_spec_takes_a_snapshot_mapping_file_as_well_as_a_name(tmp_path: Path):
    rng = np.random.default_rng(0)
    usage = rng.gamma(2.0, 20.0, 400).round(2)
    pd.DataFrame(
        {
            "id": [f"c{i}" for i in range(400)],
            "left": (rng.random(400) < 1 / (1 + usage / 20)).astype(int),
            "usage": usage,
            "plan": rng.choice(["basic", "pro"], 400),
        }
    ).to_csv(tmp_path / "crm.csv", index=False)
    spec = tmp_path / "smallco.yaml"
    spec.write_text(SNAPSHOT_SPEC.format(file="crm.csv"), encoding="utf-8")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    # The spec's own file: (relative to the spec), no FILE argument.
    code, output = _run("--spec", str(spec), "--no-register", "--tracking-uri", uri)
    assert code == 0, output
    assert "crm.csv: 400 rows read, 400 accepted, 0 rejected; 2 features" in output
    assert "smallco: churn model vs baselines (holdout)" in output
    assert "smallco: value model vs baselines (holdout)" in output

    contract = tmp_path / "events.yaml"
    contract.write_text(
        "name: shop\ntables: {customers: {file: c.csv}, transactions: {file: t.csv}}\n"
    )
    code, output = _run("--spec", str(contract))
    assert code == 2 and "a contract mapping" in output and "churn import --spec" in output
    code, output = _run(str(tmp_path / "crm.csv"), "--spec", str(tmp_path / "nothing.yaml"))
    assert code == 2 and "neither a shipped data set (telco, iranian, ecommerce)" in output
    spec.write_text(SNAPSHOT_SPEC.format(file="gone.csv"), encoding="utf-8")
    code, output = _run("--spec", str(spec), "--id", "id")
    assert code == 2 and "--id describe a file of another layout" in output
    code, output = _run(
        str(tmp_path / "crm.csv"),
        "--spec",
        str(spec),
        "--no-register",
        "--tracking-uri",
        uri,
        "--name",
        "bigco",
        "--lang",
        "zh",
    )
    assert code == 0 and "bigco：流失模型与基线对比（留出集）" in output, output
    assert "读取 400 行，接受 400 行，拒绝 0 行" in output and "价值模型" in output
    said = output.split("MLflow", 1)[0]  # the typed Python lines after it stay as they are
    assert english.english_words(said, {"crm.csv", "bigco"}) == []
