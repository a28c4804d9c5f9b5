"""docs/bring-your-own-data.md stays true: its export script and mapping file, run as the guide
runs them (``churn import --spec`` then ``churn validate``), give the counts and the rejected rows
the guide prints."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from churn.cli import register_commands
from features.loaders import load_dataset
from features.synthetic.config import CampaignConfig, GeneratorConfig
from features.synthetic.generator import generate, write_dataset

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "byod"
GUIDE = ROOT / "docs" / "bring-your-own-data.md"
COUNTS = {  # table: (read, accepted, rejected), as the guide shows them
    "customers": (3_000, 3_000, 0),
    "transactions": (66_537, 66_535, 2),
    "complaints": (1_678, 1_678, 0),
}
REJECTS = [
    (1002, "ts: not a date in the format %d/%m/%Y %H:%M (got '31/02/2021 10:15')"),
    (30002, "amount: not a number (got 'TBC')"),
]


def _cli(*args: str) -> str:
    result = CliRunner().invoke(register_commands(), list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_the_guide_s_export_imports_and_validates_with_the_counts_it_states(tmp_path: Path):
    no_campaigns = GeneratorConfig(campaigns=CampaignConfig(enabled=False))  # as the guide says
    write_dataset(generate(3000, 5, no_campaigns), tmp_path / "gen")
    loader = importlib.util.spec_from_file_location("make_export", EXAMPLE / "make_export.py")
    assert loader is not None and loader.loader is not None
    make_export = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(make_export)
    make_export.main(tmp_path / "gen", tmp_path / "export")
    export = sorted(p.name for p in (tmp_path / "export").iterdir())
    assert export == ["crm.db", "customers.csv", "orders.csv", "tickets.csv"]  # no dataset.yaml

    data = tmp_path / "data"
    out = _cli(
        "import",
        "--spec",
        str(EXAMPLE / "mapping.yaml"),
        str(tmp_path / "export"),
        "--out",
        str(data),
    )
    guide = " ".join(GUIDE.read_text(encoding="utf-8").split())
    for table, (read, accepted, rejected) in COUNTS.items():
        row = f"│ {table} │ {read:,} │ {accepted:,} │ {rejected:,} │"
        assert row in guide, row
        written = pd.read_csv(data / f"{table}.csv", dtype=str)
        bad = data / "rejects" / f"{table}.rejects.csv"
        refused = len(pd.read_csv(bad, dtype=str)) if bad.is_file() else 0
        assert (len(written) + refused, len(written), refused) == (read, accepted, rejected)
    assert "as-of date 2024-06-30: the last event in the data" in out

    rejects = pd.read_csv(data / "rejects" / "transactions.rejects.csv", dtype=str)
    assert list(zip(rejects["source_row"].astype(int), rejects["reason"], strict=True)) == REJECTS
    for _, reason in REJECTS:
        assert reason in guide

    out = _cli("validate", str(data))
    assert "contract OK (as-of date 2024-06-30: from dataset.yaml)" in out
    report = load_dataset(data).reports["transactions"]
    assert (report.read, report.accepted, report.rejected) == (66_535, 66_535, 0)
