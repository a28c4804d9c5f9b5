"""Start-up time of the ``churn`` command: wall time of ``churn --help`` and ``churn score --help``
against the floor ``python -c "import typer, rich.console"`` (the libraries any typer + rich CLI
loads). Goal: within 3x of the floor, i.e. registering the commands imports nothing heavy.

For reference it also times a minimal one-command typer app (``app --help``, ``app cmd --help``):
typer itself renders help with rich.markdown and, to run any command (``--help`` included),
builds its parameter converters with pydantic, so that is what a typer CLI cannot go below.

    .venv/bin/python benchmarks/cli_startup.py [--runs 5] [--churn .venv/bin/churn]

It also times ``churn score`` and ``churn train`` up to their first step (loading the data):
each is given a data folder that does not exist, so it imports what runs before the data is read,
checks its options and stops with exit status 2. Goal: within 3 s on an idle machine; the
models' libraries (LightGBM, MLflow, scikit-learn) are imported after the data step.

Each command runs ``--runs`` times in a fresh interpreter (``python -m churn`` from the repository
root, or the ``--churn`` console script) after one untimed warm-up run that fills the bytecode and
disk caches; the median wall time is reported, with the ratio against the floor's median.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL = 3.0
FLOOR = 'python -c "import typer, rich.console" (floor)'
MINIMAL_APP = """
import sys
from pathlib import Path
import typer
app = typer.Typer(add_completion=False)
@app.callback()
def root():
    "A group, as the churn app."
@app.command()
def cmd(data: Path = typer.Option(..., "--data", help="A folder."), asof: str | None = None):
    "One command."
app(sys.argv[1:])
"""


FIRST_STEP_GOAL_S = 3.0
MISSING = "/nonexistent/churn-startup-benchmark"


def wall_times(cmd: list[str], runs: int, status: int = 0) -> list[float]:
    """Seconds of each of ``runs`` runs of ``cmd`` (after one untimed warm-up run), each ending
    with exit ``status``."""
    times = []
    for i in range(runs + 1):
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True)
        if done.returncode != status:
            raise SystemExit(f"{cmd}: exit {done.returncode}\n{done.stderr.decode()[-2000:]}")
        if i:
            times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="timed runs per command")
    parser.add_argument(
        "--churn", type=Path, help="the churn console script to time (default: python -m churn)"
    )
    args = parser.parse_args()
    churn = [str(args.churn)] if args.churn else [sys.executable, "-m", "churn"]
    cases = {
        FLOOR: [sys.executable, "-c", "import typer, rich.console"],
        "minimal typer app: app --help (reference)": [sys.executable, "-c", MINIMAL_APP, "--help"],
        "minimal typer app: app cmd --help (reference)": [
            sys.executable,
            "-c",
            MINIMAL_APP,
            "cmd",
            "--help",
        ],  # fmt: skip
        "churn --help": [*churn, "--help"],
        "churn score --help": [*churn, "score", "--help"],
    }
    medians = {}
    print(f"median wall time of {args.runs} runs ({sys.executable})")
    print(f"{'command':<50} {'median s':>9} {'min s':>7} {'x floor':>8}")
    for name, cmd in cases.items():
        times = wall_times(cmd, args.runs)
        medians[name] = statistics.median(times)
        shown = "" if name == FLOOR else f"{medians[name] / medians[FLOOR]:.2f}"
        print(f"{name:<50} {medians[name]:>9.3f} {min(times):>7.3f} {shown:>8}")
    worst = max(m / medians[FLOOR] for n, m in medians.items() if n.startswith("churn"))
    verdict = "met" if worst <= GOAL else "NOT met"
    print(f"goal (churn within {GOAL:g}x of the floor): {verdict}, worst {worst:.2f}x")
    print(f"\nup to the first step (a missing --data folder: exit 2), median of {args.runs}")
    for command in ("score", "train"):
        times = wall_times([*churn, command, "--data", MISSING], args.runs, status=2)
        median = statistics.median(times)
        print(
            f"churn {command} to its first step{'':<26} {median:>9.3f} {min(times):>7.3f} "
            f"{median / medians[FLOOR]:>8.2f}  (goal {FIRST_STEP_GOAL_S:g} s on an idle machine)"
        )
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
