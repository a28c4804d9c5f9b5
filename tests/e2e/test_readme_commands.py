"""Every ``churn ...`` command README.md shows works as written, and every ``curl`` line calls an
endpoint the service has.

The commands are read from the README's markdown (command table and code blocks), so a new README
command is checked without touching this file. Upper-case placeholders (``DIR``, ``YYYY-MM-DD``,
``FILE.parquet``, ``N``, ...) are replaced with real values: a small generated data set, a tiny
training config, a snapshot file and an export in an adapter's format. Each command runs through
the real CLI with its optional ``[...]`` parts included, after the commands it depends on (data,
then models, then scores); the form without the optional parts is parsed too, so a required
option the README leaves out fails here. Commands that run for long (the API server, the real-data
benchmark, the full demo) are only parsed, which checks that every option they show exists.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
import yaml
from markdown_it import MarkdownIt
from typer.testing import CliRunner

from churn.cli import register_commands
from kpi.config import KpiConfig
from kpi.periods import latest_complete_month

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("readme")]

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

# Commands run in this order (a command missing here runs last); they need what earlier ones made.
STAGES = (
    "generate",
    "validate",
    "features",
    "import",
    "train-snapshot",
    "train",
    "promote",
    "rollback",
    "score",
    "kpi",
    "campaign",
    "explain",
    "report",
    "monitor",
    "export",
)
# Long-running commands: parsed (their options must exist), never started.
PARSE_ONLY = frozenset({"serve", "bench", "demo", "users", "train-uplift"})
# users add prompts for a password; train-uplift runs whole in tests/training/test_uplift_campaign.py

PLACEHOLDER = re.compile(r"^[A-Z][A-Z0-9_-]*(\.[a-z]+)?$")
OPTIONAL = re.compile(r"\[[^\[\]]*\]")

TINY_TRAINING = {
    "training": {
        "early_stopping_rounds": 5,
        "shap_sample": 100,
        "churn": {"params": {"max_rounds": 20, "num_leaves": 7, "min_data_in_leaf": 20}},
        "value": {"params": {"max_rounds": 20, "num_leaves": 7, "min_data_in_leaf": 20}},
    }
}
# A first, weaker churn-model version, so that `churn rollback` has a champion to return to.
WEAK_TRAINING = {
    "training": {
        "early_stopping_rounds": 1,
        "churn": {"params": {"max_rounds": 1, "num_leaves": 2}},
        "value": {"params": {"max_rounds": 1, "num_leaves": 2}},
    }
}
IRANIAN_HEADER = (
    "Call  Failure,Complains,Subscription  Length,Charge  Amount,Seconds of Use,"
    "Frequency of use,Frequency of SMS,Distinct Called Numbers,Age Group,Tariff Plan,Status,Age,"
    "Customer Value,Churn"
)


# --- reading the README ---------------------------------------------------------------------


def readme_commands(text: str) -> list[str]:
    """The ``churn`` commands in the markdown: inline code in table cells and lines of fenced
    code blocks (a trailing ``# comment`` dropped), in reading order, without duplicates."""
    found: list[str] = []
    in_cell = False
    for token in MarkdownIt("commonmark").enable("table").parse(text):
        if token.type in ("td_open", "th_open"):
            in_cell = True
        elif token.type in ("td_close", "th_close"):
            in_cell = False
        elif token.type == "inline" and in_cell:
            found += [c.content for c in token.children or [] if c.type == "code_inline"]
        elif token.type in ("fence", "code_block"):
            found += [line.split(" #")[0] for line in token.content.splitlines()]
    commands = [c.strip() for c in found if c.strip().startswith("churn ")]
    return list(dict.fromkeys(commands))


def curl_paths(text: str) -> set[str]:
    """The endpoint paths the README's ``curl`` lines call (``$URL/<path>``, query dropped)."""
    return set(re.findall(r"curl\b[^\n]*?\$URL(/[A-Za-z0-9_/]+)", text))


def forms(command: str) -> tuple[str, str]:
    """The command with every optional ``[...]`` part included, and with none of them."""
    minimal = command
    while OPTIONAL.search(minimal):
        minimal = OPTIONAL.sub("", minimal)
    full = command.replace("[", "").replace("]", "")
    return " ".join(full.split()), " ".join(minimal.split())


def test_readme_parser_finds_table_and_code_block_commands():
    text = (
        "| command | what |\n|---|---|\n"
        "| `churn a --x N [--y S]` / `churn b` | uses `make z` |\n\n"
        "```bash\nchurn c DIR   # comment\ncurl -s $URL/at_risk?limit=2; curl $URL/livez\n```\n"
    )
    assert readme_commands(text) == ["churn a --x N [--y S]", "churn b", "churn c DIR"]
    assert curl_paths(text) == {"/at_risk", "/livez"}
    assert forms("churn a --x N [--y S] [--z]") == ("churn a --x N --y S --z", "churn a --x N")


# --- a world to run them in -----------------------------------------------------------------


@dataclass
class World:
    """Real inputs for the placeholders; ``values`` maps an option (or a command's positional
    placeholder) to its value, computed when the command runs since some need earlier outputs."""

    root: Path
    values: dict[str, Callable[[], str]]
    positional: dict[tuple[str, str], Callable[[], str]]

    def out_path(self, command: str, index: int, placeholder: str) -> str:
        """A fresh output path for ``--out PLACEHOLDER``: a folder, or a file with its suffix."""
        suffix = Path(placeholder).suffix or (".csv" if placeholder.startswith("FILE") else "")
        return str(self.root / "outputs" / f"{command}-{index}{suffix}")

    def substitute(self, command: str, index: int) -> list[str]:
        """The command's arguments (``churn`` and the command name dropped), placeholders filled."""
        tokens = shlex.split(command)[1:]
        name, args, out = tokens[0], [tokens[0]], []
        for i, token in enumerate(tokens[1:], start=1):
            if not PLACEHOLDER.match(token):
                args.append(token)
                continue
            option = tokens[i - 1] if tokens[i - 1].startswith("--") else None
            if option == "--out":
                out.append(self.out_path(name, index, token))
                args.append(out[-1])
            elif option is not None and option in self.values:
                args.append(self.values[option]())
            elif option is None and (name, token) in self.positional:
                args.append(self.positional[(name, token)]())
            else:
                where = option or "a positional argument"
                pytest.fail(
                    f"README `{command}`: no value for {token} ({where}); add one in {__file__}"
                )
        return args


def _owing(store: Path, period: str) -> str:
    """A manager who owes an improvement plan for ``period`` (the README's `churn plans`
    issued it)."""
    from datetime import date

    from scoring.store.plans import PlanStore
    from scoring.store.predictions import PredictionStore

    opened = PredictionStore(f"sqlite:///{store}")
    try:
        plans = PlanStore(opened.engine).frame(date.today(), period=period)
    finally:
        opened.close()
    assert len(plans), "churn plans issued no plan before churn plans submit"
    return str(plans["account_manager_id"].iloc[0])


def _write_snapshot(path: Path) -> None:
    """One row per customer with a churn label that depends on the columns, for train-snapshot."""
    rng = np.random.default_rng(7)
    n = 400
    tenure = rng.integers(1, 72, n)
    charges = rng.uniform(20, 120, n).round(2)
    plan = rng.choice(["basic", "plus", "pro"], n)
    p = 1 / (1 + np.exp(0.08 * tenure - 0.02 * charges))
    pd.DataFrame(
        {
            "customer_id": [f"S{i:05d}" for i in range(n)],
            "tenure": tenure,
            "monthly_charges": charges,
            "plan": plan,
            "churned": (rng.random(n) < p).astype(int),
            "value": (charges * 12).round(2),
            "contact_cost": 10.0,
        }
    ).to_csv(path, index=False)


def _write_iranian(path: Path) -> None:
    """A small export in the iranian adapter's layout (its header, numeric columns)."""
    rng = np.random.default_rng(7)
    n = 300
    columns = IRANIAN_HEADER.split(",")
    frame = pd.DataFrame({c: rng.integers(0, 40, n) for c in columns})
    frame["Complains"] = rng.integers(0, 2, n)
    frame["Age Group"] = rng.integers(1, 6, n)
    frame["Tariff Plan"] = rng.integers(1, 3, n)
    frame["Status"] = rng.integers(1, 3, n)
    frame["Customer Value"] = rng.uniform(0, 2000, n).round(3)
    frame["Churn"] = rng.integers(0, 2, n)
    frame.to_csv(path, index=False)


def _invoke(runner: CliRunner, app: typer.Typer, args: list[str]) -> str | None:
    """Run one command in-process; None when it exits 0, else what went wrong."""
    result = runner.invoke(app, args, prog_name="churn")
    if result.exit_code == 0:
        return None
    return f"exit {result.exit_code}: {result.output[-2000:]} {result.exception!r}"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    """Generated data (600 customers), configs, a snapshot and an export, in a fresh CHURN_HOME
    and working folder; a weak first model version is registered for ``churn rollback``."""
    from features.synthetic.generator import generate, write_dataset

    root = tmp_path_factory.mktemp("readme")
    data = root / "data"
    write_dataset(generate(600, seed=7), data, "parquet")
    as_of = pd.Timestamp(yaml.safe_load((data / "dataset.yaml").read_text())["as_of"])
    scored = latest_complete_month(as_of, KpiConfig().outcome.horizon_days)
    (root / "tiny.yaml").write_text(yaml.safe_dump(TINY_TRAINING), encoding="utf-8")
    (root / "weak.yaml").write_text(yaml.safe_dump(WEAK_TRAINING), encoding="utf-8")
    _write_snapshot(root / "snapshot.csv")
    _write_iranian(root / "Customer_Churn.csv")
    home = root / "home"

    def scored_customer() -> str:
        return str(
            pd.read_csv(home / "at_risk" / f"at_risk_{scored:%Y-%m-%d}.csv")["customer_id"][0]
        )

    def const(value: object) -> Callable[[], str]:
        return lambda: str(value)

    values = {
        "--customers": const(600),
        "--seed": const(7),
        "--data": const(data),
        "--cutoff": const(f"{as_of - pd.Timedelta(days=91):%Y-%m-%d}"),
        "--as-of": const(f"{as_of:%Y-%m-%d}"),
        "--asof": const(f"{scored:%Y-%m-%d}"),
        "--period": const(f"{scored:%Y-%m}"),
        "--max-bad-row-share": const(0.2),
        "--config": const(root / "tiny.yaml"),
        "--horizon": const(90),
        "--train-cutoffs": const(2),
        "--capacity": const(5),
        "--customer-id": scored_customer,
        "--model": const("churn-model"),
        "--version": const(2),  # the weak first version, then the README's `churn train`
        "--reason": const("checking the README"),
        "--id": const("customer_id"),
        "--treatment": const("treated"),
        "--outcome": const("visit"),
        "--control": const("0"),
        "--drop": const("spend"),
        "--label": const("churned"),
        "--value": const("value"),
        "--cost": const("contact_cost"),
        "--spec": const(ROOT / "features" / "adapters" / "specs" / "iranian.yaml"),
        "--by": const("risk"),
        "--workers": const(2),
        "--role": const("manager"),
        "--manager-id": const("AM001"),
        "--store": const(f"sqlite:///{home / 'serving.db'}"),
        "--html": const(root / "outputs" / "monitor.html"),
    }
    positional = {
        ("validate", "DIR"): const(data),
        ("import", "NAME"): const("iranian"),
        ("import", "PATH"): const(root / "Customer_Churn.csv"),
        ("train-snapshot", "FILE"): const(root / "snapshot.csv"),
        ("train-uplift", "FILE"): const(root / "campaign.csv"),
        ("users", "NAME"): const("ana"),
        ("plans", "MANAGER"): lambda: _owing(home / "serving.db", values["--period"]()),
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CHURN_HOME", str(home))
        for key in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "CHURN_API_KEY"):
            mp.delenv(key, raising=False)
        mp.chdir(root)  # relative outputs such as `--out report.html` land here
        weak = ["train", "--data", str(data), "--config", str(root / "weak.yaml")]
        weak += ["--horizon", "90", "--train-cutoffs", "2"]
        assert _invoke(CliRunner(), register_commands(), weak) is None
        yield World(root, values, positional)


def _stage(command: str) -> int:
    name = shlex.split(command)[1]
    return STAGES.index(name) if name in STAGES else len(STAGES)


def _parse_error(group, args: list[str]) -> str | None:
    """Parse the arguments as the CLI would, without running the command; None when they parse."""
    command = group.commands.get(args[0])
    if command is None:
        return f"no such command {args[0]!r}"
    try:
        command.make_context(f"churn {args[0]}", args[1:])
    except Exception as exc:  # typer's (vendored) click usage errors
        return getattr(exc, "format_message", exc.__str__)()
    return None


def test_every_readme_command_works_as_written(world: World):
    commands = readme_commands(README.read_text(encoding="utf-8"))
    names = {shlex.split(c)[1] for c in commands}
    assert {"generate", "train", "score", "campaign", "serve"} <= names, commands
    app = register_commands()
    group = typer.main.get_command(app)
    runner = CliRunner()
    failures = []
    for index, command in enumerate(sorted(commands, key=_stage)):
        full, minimal = forms(command)
        name = shlex.split(command)[1]
        for form in dict.fromkeys((full, minimal)):
            error = _parse_error(group, world.substitute(form, index))
            if error:
                failures.append(f"`{form}` does not parse: {error}")
        if name in PARSE_ONLY or any(f.startswith(f"`{full}`") for f in failures):
            continue
        error = _invoke(runner, app, world.substitute(full, index))
        if error:
            failures.append(f"`{full}` failed: {error}")
    assert not failures, "\n\n".join(failures)


def test_readme_curl_lines_call_endpoints_the_service_has():
    from serving.middleware import HEALTH_PATHS
    from serving.routes import build_routes
    from serving.service import ChurnService

    paths = curl_paths(README.read_text(encoding="utf-8"))
    assert {"/predict", "/at_risk", "/win_back"} <= paths
    api = {method.route for method in ChurnService.apis.values()}
    routes = {route.path for route in build_routes(lambda: None, dict).routes}
    served = api | routes | HEALTH_PATHS | {"/metrics"}  # BentoML serves the probes and metrics
    assert paths <= served, f"README calls {sorted(paths - served)}, not served: {sorted(served)}"
