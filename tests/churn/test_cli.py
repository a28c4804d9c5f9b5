"""The ``churn`` CLI front door: every command is there, has help, and ``--help`` stays light.

The import check runs in a fresh interpreter (a subprocess): in the test process other tests
have long since imported pandas, MLflow and the rest.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import typer

import churn.commands
from churn.commands._options import ADAPTER_NAMES, SNAPSHOT_ADAPTER_NAMES

ROOT = Path(__file__).resolve().parents[2]

COMMANDS = {
    "bench",
    "campaign",
    "demo",
    "explain",
    "export",
    "features",
    "generate",
    "import",
    "kpi",
    "plans",
    "monitor",
    "promote",
    "report",
    "rollback",
    "score",
    "serve",
    "store",
    "train",
    "train-snapshot",
    "train-uplift",
    "users",
    "validate",
}
HEAVY = (
    "lightgbm",
    "sklearn",
    "mlflow",
    "bentoml",
    "shap",
    "numba",
    "pandas",
    "numpy",
    "pyarrow",
    "duckdb",
    "pyspark",
    "matplotlib",
)

# Run in a fresh interpreter: register every command, render the app's help and each command's,
# then report what was rendered and which heavy libraries got imported on the way.
PROBE = f"""
import json, sys
import typer
from typer.testing import CliRunner
from churn.cli import register_commands

app = register_commands()
runner = CliRunner()
group = typer.main.get_command(app)
helps = {{"": runner.invoke(app, ["--help"], prog_name="churn")}}
for name in group.commands:
    helps[name] = runner.invoke(app, [name, "--help"], prog_name="churn")
print(json.dumps({{
    "commands": sorted(group.commands),
    "short_help": {{n: c.get_short_help_str(200) for n, c in group.commands.items()}},
    "help": {{n: [r.exit_code, r.output] for n, r in helps.items()}},
    "heavy": sorted(m for m in {HEAVY!r} if m in sys.modules),
}}))
"""


def _probe() -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_help_renders_every_command_without_heavy_imports():
    got = _probe()
    assert set(got["commands"]) == COMMANDS
    assert got["heavy"] == [], f"`churn --help` imported {got['heavy']}"
    code, top = got["help"][""]
    assert code == 0
    for name in COMMANDS:
        assert name in top, f"{name} missing from `churn --help`"
        code, text = got["help"][name]
        assert code == 0, text
        assert f"Usage: churn {name}" in text
        assert got["short_help"][name].strip(), f"`churn {name}` has no help text"


def test_each_command_module_is_named_after_its_command():
    modules = [
        m.name for m in pkgutil.iter_modules(churn.commands.__path__) if not m.name.startswith("_")
    ]
    seen: set[str] = set()
    for module in modules:
        app = typer.Typer()
        app.callback()(lambda: None)  # a command group, as in the churn app
        importlib.import_module(f"churn.commands.{module}").register(app)
        names = set(typer.main.get_command(app).commands)
        assert names == {module.rstrip("_").replace("_", "-")}, module
        seen |= names
    assert seen == COMMANDS


def test_adapter_names_in_help_match_the_adapters():
    from features.adapters.importer import ADAPTERS

    assert tuple(ADAPTERS) == ADAPTER_NAMES
    assert tuple(n for n, a in ADAPTERS.items() if a.kind == "snapshot") == SNAPSHOT_ADAPTER_NAMES
