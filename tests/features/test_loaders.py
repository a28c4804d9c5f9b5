"""Contract enforcement: good data loads, each schema error stops with its message, and every
row-level error is quarantined with a reason so that read = accepted + rejected."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.errors import ContractError
from features.loaders import load_dataset, write_rejects

CUSTOMERS = (
    "customer_id,signup_date,segment,account_manager_id\nC1,2023-01-01,smb,M1\nC2,2023-02-01,,M1\n"
)
TRANSACTIONS = "customer_id,ts,amount,kind\nC1,2024-01-01,10.5,new\nC2,2024-01-02,3,purchase\n"


def make(tmp_path: Path, **tables: str | bytes) -> Path:
    """Write a data folder; keyword = table file name without suffix ('customers' -> .csv)."""
    files = {"customers": CUSTOMERS, "transactions": TRANSACTIONS, **tables}
    for name, body in files.items():
        if body is None:
            continue
        path = tmp_path / (name if "." in name else f"{name}.csv")
        path.write_bytes(body if isinstance(body, bytes) else body.encode("utf-8"))
    (tmp_path / "dataset.yaml").write_text("as_of: 2024-06-30\n")
    return tmp_path


def assert_balanced(ds) -> None:
    for name, r in ds.reports.items():
        assert r.read == r.accepted + r.rejected, name
        assert len(ds.tables[name]) == r.accepted
        assert len(ds.rejects[name]) == r.rejected


def test_good_data_loads_typed(tmp_path):
    ds = load_dataset(make(tmp_path))
    assert ds.as_of == pd.Timestamp("2024-06-30")
    tx = ds.tables["transactions"]
    assert str(tx["ts"].dtype).startswith("datetime64")
    assert tx["amount"].dtype == "float64"
    assert ds.tables["customers"]["segment"].isna().sum() == 1  # empty optional value kept as NaN
    assert all(r.rejected == 0 for r in ds.reports.values())
    assert_balanced(ds)


def test_extra_columns_are_kept(tmp_path):
    ds = load_dataset(
        make(
            tmp_path,
            customers=CUSTOMERS.replace("\n", ",x\n").replace(
                "account_manager_id,x", "account_manager_id,loyalty_tier"
            ),
        )
    )
    assert "loyalty_tier" in ds.tables["customers"]


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        (
            {"customers": "signup_date\n2023-01-01\n"},
            "customers.csv: missing required column(s) customer_id",
        ),
        ({"transactions": None}, "required table 'transactions'"),
        ({"refunds": "a\n1\n"}, "refunds.csv: unknown table file"),
        (
            {"transactions": "customer_id,ts,amount\nC1,yesterday,1\n"},
            "column 'ts': 1 value(s) are not dates",
        ),
        (
            {"transactions": "customer_id,ts,amount\nC1,2024-01-01,ten\n"},
            "column 'amount': 1 value(s) are not numbers: 'ten'",
        ),
        ({"customers": ""}, "customers.csv: the file is empty"),
        (
            {
                "customers": "customer_id,signup_date\nC1,2023-01-01\n".encode("gb18030")
                + "张三\n".encode("gb18030")
            },
            "not valid utf-8",
        ),
    ],
)
def test_schema_errors_stop_with_a_clear_message(tmp_path, tables, message):
    if tables.get("transactions", "") is None:
        make(tmp_path)
        (tmp_path / "transactions.csv").unlink()
    else:
        make(tmp_path, **tables)
    with pytest.raises(ContractError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_dataset(tmp_path)


def test_offending_values_are_capped_at_ten(tmp_path):
    rows = "".join(f"C1,bad{i},1\n" for i in range(25))
    make(tmp_path, transactions="customer_id,ts,amount\n" + rows)
    with pytest.raises(ContractError) as exc:
        load_dataset(tmp_path)
    assert "25 value(s)" in str(exc.value)
    assert str(exc.value).count("'bad") == 10


@pytest.mark.parametrize(
    ("tables", "table", "reason"),
    [
        (
            {"transactions": TRANSACTIONS + "C1,2024-01-03,-5,purchase\n"},
            "transactions",
            "amount: must be >= 0",
        ),
        (
            {"customers": CUSTOMERS + "C1,2023-05-01,smb,M2\n"},
            "customers",
            "duplicate customer_id (first seen at row 2)",
        ),
        (
            {"transactions": TRANSACTIONS + "C9,2024-01-03,5,purchase\n"},
            "transactions",
            "unknown customer_id",
        ),
        (
            {"transactions": TRANSACTIONS + "C1,2024-07-01,5,purchase\n"},
            "transactions",
            "ts after the as-of date",
        ),
        (
            {"transactions": TRANSACTIONS + "C1,2024-01-03,5,refund\n"},
            "transactions",
            "kind: must be one of",
        ),
        (
            {
                "complaints": "customer_id,opened_at,resolved_at,severity\nC1,2024-02-02,2024-02-01,1\n"
            },
            "complaints",
            "resolved_at before opened_at",
        ),
        (
            {"complaints": "customer_id,opened_at,severity,satisfaction\nC1,2024-02-02,4,3\n"},
            "complaints",
            "severity: must be <= 3",
        ),
        (
            {"complaints": "customer_id,opened_at,severity,satisfaction\nC1,2024-02-02,2,0\n"},
            "complaints",
            "satisfaction: must be >= 1",
        ),
        (
            {"interactions": "customer_id,ts,channel\nC1,2024-02-02,fax\n"},
            "interactions",
            "channel: must be one of",
        ),
        (
            {"transactions": TRANSACTIONS + "C1,2024-01-03,inf,purchase\n"},
            "transactions",
            "must be a finite number",
        ),
        (
            {"transactions": TRANSACTIONS + "C1,2024-01-03,,purchase\n"},
            "transactions",
            "amount: required value is empty",
        ),
    ],
)
def test_row_errors_are_quarantined_with_reason(tmp_path, tables, table, reason):
    ds = load_dataset(make(tmp_path, **tables))
    assert_balanced(ds)
    rejected = ds.rejects[table]
    assert len(rejected) == 1
    assert reason in rejected["reason"].iloc[0]
    assert rejected["source_row"].iloc[0] >= 2
    written = write_rejects(ds, tmp_path / "out")
    assert (tmp_path / "out" / f"{table}.rejects.csv") in written


def test_bom_crlf_and_time_zones_are_read(tmp_path):
    body = TRANSACTIONS.replace("2024-01-02", "2024-01-02T01:30:00+08:00").replace("\n", "\r\n")
    ds = load_dataset(make(tmp_path, transactions=b"\xef\xbb\xbf" + body.encode()))
    tx = ds.tables["transactions"]
    assert list(tx.columns[:3]) == ["customer_id", "ts", "amount"]
    assert tx["ts"].iloc[1] == pd.Timestamp("2024-01-01 17:30:00")  # converted to UTC
    assert tx["customer_id"].iloc[1] == "C2"


def test_other_encoding_on_request(tmp_path):
    body = "customer_id,signup_date,segment\nC1,2023-01-01,零售\nC2,2023-01-01,\n".encode("gb18030")
    ds = load_dataset(make(tmp_path, customers=body), encoding="gb18030")
    assert ds.tables["customers"]["segment"].iloc[0] == "零售"


def test_parquet_tables(tmp_path):
    make(tmp_path)
    frame = pd.read_csv(tmp_path / "transactions.csv")
    (tmp_path / "transactions.csv").unlink()
    frame.to_parquet(tmp_path / "transactions.parquet")
    ds = load_dataset(tmp_path)
    assert ds.reports["transactions"].accepted == 2


def test_header_only_file_is_an_empty_table(tmp_path):
    ds = load_dataset(make(tmp_path, complaints="customer_id,opened_at\n"))
    assert ds.reports["complaints"].read == 0
