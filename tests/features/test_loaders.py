"""Contract enforcement: good data loads, each schema error stops with its message, and every
row-level error is quarantined with a reason so that read = accepted + rejected."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.errors import ContractError
from features.config import DataConfig
from features.loaders import (
    BadRowShareError,
    _parse_text,
    load_dataset,
    resolve_as_of,
    write_rejects,
)

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
            {"transactions": "customer_id,ts,amount\nC1,yesterday,1\nC2,30/06/2024,2\n"},
            "transactions.csv, column 'ts': all 2 value(s) are not dates",
        ),
        (
            {"transactions": "customer_id,ts,amount\nC1,2024-01-01,ten\nC2,2024-01-01,$3\n"},
            "column 'amount': all 2 value(s) are not numbers",
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
            {"transactions": TRANSACTIONS + "C1,yesterday,5,purchase\n"},
            "transactions",
            "ts: not a date (got yesterday)",
        ),
        (
            {"transactions": TRANSACTIONS + "C1,2024-01-03,ten,purchase\n"},
            "transactions",
            "amount: not a number (got ten)",
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
            {"transactions": TRANSACTIONS + "C1,2024-01-03,5,gift\n"},
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
        (
            {"customers": CUSTOMERS + "C3,2023-03-01,smb,M" + "1" * 10_001 + "\n"},
            "customers",
            "account_manager_id: longer than 10,000 characters",
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


def test_parquet_missing_values_are_not_bad_values(tmp_path):
    make(tmp_path)
    customers = pd.DataFrame(
        {
            "customer_id": ["C1", "C2"],
            "signup_date": pd.to_datetime(["2023-01-01", "2023-02-01"]),
            "cancelled_at": pd.to_datetime(["2024-01-01", None]),
        }
    )
    complaints = pd.DataFrame(
        {
            "customer_id": ["C1", "C2"],
            "opened_at": pd.to_datetime(["2024-02-01", "2024-02-02"]),
            "severity": [2.0, float("nan")],
        }
    )
    (tmp_path / "customers.csv").unlink()
    customers.to_parquet(tmp_path / "customers.parquet")
    complaints.to_parquet(tmp_path / "complaints.parquet")
    ds = load_dataset(tmp_path)
    assert all(r.rejected == 0 for r in ds.reports.values())


def test_header_only_file_is_an_empty_table(tmp_path):
    ds = load_dataset(make(tmp_path, complaints="customer_id,opened_at\n"))
    assert ds.reports["complaints"].read == 0


def test_a_bad_value_is_quarantined_with_its_line_column_and_value(tmp_path):
    body = TRANSACTIONS + "C1,2024-13-45,5,purchase\nC2,2024-01-04,5,purchase\n"
    ds = load_dataset(make(tmp_path, transactions=body))
    assert_balanced(ds)
    assert ds.reports["transactions"].accepted == 3
    written = write_rejects(ds, tmp_path / "out")
    rejects = pd.read_csv(written[0], dtype=str)
    assert rejects["source_row"].tolist() == ["4"]  # the CSV line, header = line 1
    assert rejects["reason"].iloc[0] == "ts: not a date (got 2024-13-45)"
    assert "_parse_reason" not in ds.tables["transactions"]


def test_a_whole_unusable_column_stops_naming_it_with_samples(tmp_path):
    body = "customer_id,signup_date\n" + "".join(f"C{i},06/{i + 1:02d}/2023\n" for i in range(5))
    with pytest.raises(ContractError) as exc:
        load_dataset(make(tmp_path, customers=body))
    text = str(exc.value)
    assert "customers.csv, column 'signup_date': all 5 value(s) are not dates" in text
    assert "'06/01/2023'" in text and "expected ISO 8601" in text


def test_bad_row_share_over_the_limit_stops_and_under_it_loads(tmp_path):
    good = "".join(f"C1,2024-01-{d:02d},1,purchase\n" for d in range(1, 8))
    body = (
        "customer_id,ts,amount,kind\n"
        + good
        + "C1,x,1,purchase\nC1,y,1,purchase\nC9,2024-01-09,1,new\n"
    )
    make(tmp_path, transactions=body)
    with pytest.raises(BadRowShareError) as exc:
        load_dataset(tmp_path)  # 3 of 10 rows bad, default max share 0.2
    text = str(exc.value)
    assert "transactions.csv: 3 of 10 rows (30.0%) are bad" in text
    assert "--max-bad-row-share" in text and "unknown customer_id" in text
    assert exc.value.dataset.reports["transactions"].rejected == 3  # rejects still at hand
    ds = load_dataset(tmp_path, max_bad_row_share=0.3)
    assert ds.reports["transactions"].accepted == 7
    assert DataConfig().max_bad_row_share == 0.2


def test_events_after_an_as_of_date_the_caller_chose_are_set_aside_not_bad(tmp_path):
    """``churn train --as-of T`` on a whole export: the later events are not bad rows."""
    later = "".join(f"C1,2024-07-{d:02d},1,purchase\n" for d in range(1, 9))
    body = "customer_id,ts,amount,kind\nC1,2024-01-02,1,purchase\nC1,x,1,purchase\n" + later
    make(tmp_path, transactions=body)
    ds = load_dataset(tmp_path, as_of="2024-06-30")  # 9 of 10 set aside, 1 of them bad
    assert ds.reports["transactions"].rejected == 9 and ds.reports["transactions"].accepted == 1
    (tmp_path / "dataset.yaml").write_text("as_of: 2024-06-30\n")
    with pytest.raises(BadRowShareError, match="9 of 10 rows"):  # the manifest's date: bad
        load_dataset(tmp_path)


def test_the_text_limit_is_a_setting_of_the_data_section(tmp_path):
    from rich.console import Console

    from churn.commands._inputs import load_folder

    (tmp_path / "data").mkdir()
    folder = make(tmp_path / "data", customers=CUSTOMERS + "C3,2023-03-01,smb,M" + "1" * 40 + "\n")
    config = tmp_path / "data.yaml"
    config.write_text("data:\n  max_text_chars: 20\n  max_bad_row_share: 1\n", "utf-8")
    ds = load_folder(folder, Console(quiet=True), config=config, say_as_of=False)
    assert ds.reports["customers"].rejected == 1
    assert "account_manager_id: longer than 20 characters" in ds.rejects["customers"]["reason"][0]
    assert load_dataset(folder).reports["customers"].rejected == 0  # 41 <= 10,000 by default
    with pytest.raises(ContractError, match="data.max_text_chars"):
        load_data_config_text(tmp_path, "data:\n  max_text_chars: 0\n")


def load_data_config_text(tmp_path: Path, text: str) -> DataConfig:
    from features.config import load_data_config

    path = tmp_path / "bad.yaml"
    path.write_text(text, "utf-8")
    return load_data_config(path)


def test_one_bad_row_never_stops_a_run_whatever_the_share(tmp_path):
    body = "customer_id,opened_at,severity\nC1,2024-02-02,9\n"  # 1 of 1 rows bad
    ds = load_dataset(make(tmp_path, complaints=body), max_bad_row_share=0.0)
    assert ds.reports["complaints"].rejected == 1


def test_as_of_is_the_last_event_day_without_manifest_or_argument(tmp_path):
    make(
        tmp_path,
        interactions="customer_id,ts,channel\nC1,2024-03-05T17:00:00,call\n",
        complaints="customer_id,opened_at\nC2,2999-01-01\n",  # a typo far in the future
    )
    (tmp_path / "dataset.yaml").unlink()
    ds = load_dataset(tmp_path)
    assert ds.as_of == pd.Timestamp("2024-03-05")  # interactions end later than transactions
    assert ds.as_of_source == "last event"
    assert "as-of date 2024-03-05: the last event in the data" in ds.as_of_text()
    assert "ts after the as-of date" not in ds.rejects["interactions"]["reason"].tolist()
    assert ds.rejects["complaints"]["reason"].tolist() == [
        "opened_at after the as-of date 2024-03-05"
    ]
    assert load_dataset(tmp_path, as_of="2024-06-30").as_of_source == "argument"
    (tmp_path / "dataset.yaml").write_text("as_of: 2024-06-30\n")
    assert load_dataset(tmp_path).as_of_source == "dataset.yaml"
    assert resolve_as_of(tmp_path, None) == pd.Timestamp("2024-06-30")


def test_refunds_are_accepted_with_a_negative_amount(tmp_path):
    body = TRANSACTIONS + "C1,2024-01-03,-5,purchase\nC1,2024-01-04,4,refund\n"
    ds = load_dataset(make(tmp_path, transactions=body))
    tx = ds.tables["transactions"]
    assert ds.reports["transactions"].rejected == 0
    assert tx["amount"].tolist() == [10.5, 3.0, -5.0, -4.0]  # kind refund: amount negated
    assert tx["kind"].tolist() == ["new", "purchase", "purchase", "refund"]  # kind kept as given


def test_validate_writes_the_rejects_then_stops_past_the_max_bad_row_share(tmp_path):
    import typer
    from typer.testing import CliRunner

    from churn.cli import register_commands

    app = register_commands()
    bad = "".join(f"C1,2024-02-{d:02d},x{d}\n" for d in range(1, 4))
    (tmp_path / "data").mkdir()
    folder = make(tmp_path / "data", transactions=TRANSACTIONS + bad)  # 3 of 5 rows bad
    out = tmp_path / "rejects"
    done = CliRunner().invoke(app, ["validate", str(folder), "--rejects", str(out)])
    assert isinstance(done.exception, BadRowShareError)
    assert "transactions.csv: 3 of 5 rows (60.0%) are bad" in str(done.exception)
    assert len(pd.read_csv(out / "transactions.rejects.csv")) == 3
    args = ["validate", str(folder), "--rejects", str(out), "--max-bad-row-share", "0.6"]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0 and "3 row(s) rejected" in done.output
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    for command in ("validate", "train", "features", "score"):
        options = {o for p in commands[command].params for o in p.opts}
        assert "--max-bad-row-share" in options, command


def test_text_is_trimmed_and_lower_cased_as_python_does_on_ascii_and_unicode():
    """The ASCII fast path trims what Unicode calls white space, as the Unicode path does."""
    ascii_cells = [f"{chr(i)}Ab C{chr(i)}" for i in range(128)] + [" ", "\t"]
    unicode_cells = ["\u3000Ab Ç\u00a0", "\x1fÉ\x1c"]
    for cells in (ascii_cells, ascii_cells + unicode_cells):
        values = pd.Series(cells, dtype="str")
        for lower in (False, True):
            want = [c.strip().lower() if lower else c.strip() for c in cells]
            got = _parse_text(values, lower=lower)
            assert got.fillna("").tolist() == want
            assert got.isna().tolist() == [not w for w in want]


def test_a_row_breaking_several_rules_gets_each_reason_once_in_order(tmp_path):
    body = TRANSACTIONS + "C9,2024-01-05,-3,bogus\nC1,2024-13-45,5,purchase\n"
    ds = load_dataset(make(tmp_path, transactions=body), max_bad_row_share=None)
    assert ds.rejects["transactions"]["reason"].tolist() == [
        "kind: must be one of new, renewal, upsell, purchase, refund (got bogus); "
        "event for an unknown customer_id",
        "ts: not a date (got 2024-13-45)",
    ]
    assert ds.reports["transactions"].accepted == 2


def test_a_column_named_like_the_line_numbers_is_refused_by_name(tmp_path):
    body = "customer_id,ts,amount,kind,source_row\nC1,2024-01-01,10.5,new,7\n"
    with pytest.raises(
        ContractError, match="transactions.csv: has a column named 'source_row'"
    ) as e:
        load_dataset(make(tmp_path, transactions=body))
    assert e.value.said("zh").startswith("transactions.csv：含有名为 'source_row' 的列")
