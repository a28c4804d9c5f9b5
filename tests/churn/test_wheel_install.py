"""The project as a user installs it: a (non-editable) wheel in a fresh virtualenv.

Catches what an editable install hides: a package missing from ``[tool.setuptools.packages]``,
a data file missing from ``package-data``, a command that needs the source tree to start. Only
the help path's dependencies (typer, rich, pinned by requirements.lock) go into the venv, so
``churn --help`` passing there also shows that registering the commands needs nothing else.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import typer

from churn.cli import register_commands

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
UV = ROOT / ".venv" / "bin" / "uv"


def _packages() -> list[str]:
    """Top-level packages the wheel ships: the folders ``packages.find.include`` names."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    include = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    return sorted(p.rstrip("*").rstrip(".") for p in include if (ROOT / p.rstrip("*")).is_dir())


def _run(cmd: list[str | Path], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _source_copy(dest: Path, packages: list[str]) -> None:
    """What a source distribution holds: pyproject, README and the packages, no caches."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    junk = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for pkg in packages:
        shutil.copytree(ROOT / pkg, dest / pkg, ignore=junk)


def test_wheel_in_a_fresh_venv_runs_churn_help(tmp_path):
    uv = UV if UV.is_file() else shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed (make setup installs it into .venv)")
    packages = _packages()
    assert {"core", "features", "training", "serving", "kpi", "reports", "churn"} <= set(packages)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["COLUMNS"] = "200"  # no wrapped command names in the help panel
    src, venv = tmp_path / "src", tmp_path / "v"
    # built from a copy, so the build leaves no build/ or *.egg-info in the repository
    _source_copy(src, packages)
    python = venv / "bin" / "python"
    _run([uv, "venv", venv, "--python", sys.executable, "--quiet"], tmp_path, env)
    _run([uv, "pip", "install", "--quiet", "--python", python, "--no-deps", src], tmp_path, env)
    lock = ROOT / "requirements.lock"
    _run(
        # the CLI's words (help texts included) are YAML data: core/words
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            python,
            "typer",
            "rich",
            "pyyaml",
            "-c",
            lock,
        ],
        tmp_path,
        env,
    )

    # cwd is tmp_path: the source tree is not importable, only the installed wheel
    shown = _run([venv / "bin" / "churn", "--help"], tmp_path, env)
    listed = {line.strip("│ ").split(" ")[0] for line in shown.splitlines()}
    expected = set(typer.main.get_command(register_commands()).commands)
    assert expected <= listed, f"missing from the installed `churn --help`: {expected - listed}"
    score = _run([venv / "bin" / "churn", "score", "--help"], tmp_path, env)
    assert "--asof" in score

    probe = (
        "import importlib, json, sysconfig\n"
        f"files = {{p: importlib.import_module(p).__file__ for p in {packages!r}}}\n"
        "print(json.dumps({'site': sysconfig.get_paths()['purelib'], 'files': files}))"
    )
    got = json.loads(_run([python, "-c", probe], tmp_path, env))
    site = Path(got["site"]).resolve()
    for pkg, file in got["files"].items():
        assert Path(file).resolve().is_relative_to(site), f"{pkg} imported from {file}"

    # every data file of the packages (YAML the code loads, ...) is in the wheel
    data = [
        p.relative_to(src)
        for pkg in packages
        for p in (src / pkg).rglob("*")
        if p.is_file() and p.suffix != ".py"
    ]
    assert any(p.suffix == ".yaml" for p in data)  # features/catalog.yaml at least
    missing = [str(p) for p in data if not (site / p).is_file()]
    assert not missing, f"package data missing from the wheel: {missing}"
