"""The documented contract and the enforced one are the same."""

from pathlib import Path

from features.contract import TABLES

DOC = (Path(__file__).parents[2] / "docs" / "data-contract.md").read_text(encoding="utf-8")


def test_every_table_and_column_is_documented():
    for table in TABLES.values():
        assert f"## `{table.name}`" in DOC
        for col in table.columns:
            shown = f"**{col.name}**" if col.required else col.name
            assert f"| {shown} | {col.kind} |" in DOC, (table.name, col.name)
