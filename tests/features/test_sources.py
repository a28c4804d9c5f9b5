"""Reading exports: delimiters sniffed, encodings detected, loose headers, Excel and Parquet, all
as text columns with ``source_row``."""

from __future__ import annotations

import pandas as pd
import pytest

from features.adapters.snapshot import SOURCE_ROW, AdapterError, read_text_csv
from features.adapters.sources import (
    align_columns,
    read_file,
    read_source_file,
    sniff_delimiter,
)

ROWS = [("C1", "2024-01-05", "12.50", "Zhang Wei"), ("C2", "2024-02-11", "", "Li Na")]
HEAD = ("customer_id", "ts", "amount", "name")


def _write(path, sep, rows=ROWS, head=HEAD, encoding="utf-8"):
    lines = [sep.join(head)] + [sep.join(r) for r in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


@pytest.mark.parametrize(
    ("sep", "name"), [(",", "a.csv"), (";", "b.csv"), ("\t", "c.tsv"), ("|", "d.txt")]
)
def test_delimiter_is_sniffed_and_blanks_are_missing(tmp_path, sep, name):
    frame = read_file(_write(tmp_path / name, sep))
    assert list(frame.columns) == [SOURCE_ROW, *HEAD]
    assert frame["name"].tolist() == ["Zhang Wei", "Li Na"]  # a space inside a value is no split
    assert frame["amount"].iloc[0] == "12.50" and pd.isna(frame["amount"].iloc[1])
    assert frame[SOURCE_ROW].tolist() == [2, 3]  # line numbers count the header
    assert all(isinstance(frame[c].dtype, pd.StringDtype) for c in HEAD)


def test_whitespace_separated_text_without_header(tmp_path):
    # the layout of the usual CDNOW_master.txt: padded columns, no header
    body = "   00001  19970101  1   11.77\n   00002  19970112  2   89.00\n   00003  19970102  1   20.76\n"
    path = tmp_path / "CDNOW_master.txt"
    path.write_text(body)
    assert sniff_delimiter(body) == r"\s+"
    frame = read_source_file(path, header=False, names=["id", "date", "cds", "dollars"])
    assert frame["id"].tolist() == ["00001", "00002", "00003"]  # zero padding kept
    assert frame["dollars"].tolist() == ["11.77", "89.00", "20.76"]
    assert frame[SOURCE_ROW].tolist() == [1, 2, 3]
    unnamed = read_source_file(path, header=False)
    assert list(unnamed.columns) == [SOURCE_ROW, "column_1", "column_2", "column_3", "column_4"]
    assert read_file(path, delimiter="whitespace").shape == (2, 5)  # first line taken as header


def test_gb18030_export_is_detected_without_flags_and_can_be_overridden(tmp_path):
    rows = [
        ("C1", "2024-01-05", "12.50", "张伟 北京市朝阳区客户"),
        ("C2", "2024-02-11", "8.00", "李娜 上海市浦东新区客户"),
        ("C3", "2024-03-02", "3.10", "王芳 广州市天河区投诉客户"),
    ]
    path = _write(tmp_path / "crm.csv", ",", rows, ("客户编号", "日期", "金额", "备注"), "gb18030")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    frame = read_file(path)
    assert list(frame.columns)[1:] == ["客户编号", "日期", "金额", "备注"]
    assert frame["备注"].tolist() == [r[3] for r in rows]
    assert any("gb18030" in n and "crm.csv" in n for n in frame.attrs["notes"])
    assert read_file(path, encoding="gb18030")["备注"].iloc[2] == rows[2][3]
    with pytest.raises(AdapterError, match="not valid utf-8 text"):
        read_file(path, encoding="utf-8")
    utf8 = read_file(_write(tmp_path / "u.csv", ",", rows, encoding="utf-8"))
    assert utf8.attrs["notes"] == []  # nothing to say about UTF-8


def test_headers_are_matched_regardless_of_case_and_spaces():
    raw = pd.DataFrame({SOURCE_ROW: [2], " customerid ": ["a"], "CALL FAILURE": ["1"], "x": ["y"]})
    raw.columns = [c.strip() for c in raw.columns]
    aligned = align_columns(raw, ["customerID", "Call  Failure", "missing"])
    assert list(aligned.columns) == [SOURCE_ROW, "customerID", "Call  Failure", "x"]


def test_excel_sheet_is_read_as_text(tmp_path):
    path = tmp_path / "crm.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as book:
        pd.DataFrame({"a": [1]}).to_excel(book, sheet_name="Notes", index=False)
        pd.DataFrame(
            {
                "Customer ID": ["C1", "C2"],
                "Amount": [12.5, 3.0],
                "Joined": pd.to_datetime(["2024-01-05", "2024-02-01"]),
            }
        ).to_excel(book, sheet_name="Orders", index=False)
    frame = read_file(path, sheet="Orders")
    assert list(frame.columns) == [SOURCE_ROW, "Customer ID", "Amount", "Joined"]
    assert frame["Customer ID"].tolist() == ["C1", "C2"] and frame[SOURCE_ROW].tolist() == [2, 3]
    assert pd.to_numeric(frame["Amount"]).tolist() == [12.5, 3.0]
    assert pd.to_datetime(frame["Joined"]).dt.strftime("%Y-%m-%d").tolist() == [
        "2024-01-05",
        "2024-02-01",
    ]
    assert read_file(path).shape == (1, 2)  # the first sheet by default
    with pytest.raises(AdapterError, match="no sheet 'Sales'; the sheets are 'Notes', 'Orders'"):
        read_file(path, sheet="Sales")


def test_parquet_columns_become_text(tmp_path):
    path = tmp_path / "t.parquet"
    pd.DataFrame(
        {"id": ["a", "b"], "n": [1.0, None], "d": pd.to_datetime(["2024-01-05", None])}
    ).to_parquet(path)
    frame = read_file(path)
    assert frame["n"].iloc[0] == "1" and pd.isna(frame["n"].iloc[1])
    assert frame["d"].iloc[0] == "2024-01-05" and pd.isna(frame["d"].iloc[1])
    assert frame[SOURCE_ROW].tolist() == [1, 2]


def test_read_text_csv_keeps_blanks_as_empty_text(tmp_path):
    frame = read_text_csv(_write(tmp_path / "a.csv", ","))
    assert frame["amount"].iloc[1] == ""


def test_unreadable_sources_are_named(tmp_path):
    with pytest.raises(AdapterError, match="no such file"):
        read_file(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(AdapterError, match="empty.csv: the file is empty"):
        read_file(tmp_path / "empty.csv")
    with pytest.raises(AdapterError, match="unknown encoding 'klingon'"):
        read_file(_write(tmp_path / "a.csv", ","), encoding="klingon")
