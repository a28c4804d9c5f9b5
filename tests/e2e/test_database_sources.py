"""``churn import --spec`` from real databases: a throwaway PostgreSQL server, a SQLite file and a
DuckDB file, each imported end to end into a folder that ``churn validate`` accepts."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import typer
from typer.testing import CliRunner

from churn.commands import import_ as import_command
from churn.commands import validate as validate_command
from features.adapters.mapping import apply_spec_file
from features.adapters.snapshot import AdapterError
from features.adapters.sources import read_query

CUSTOMERS = [
    ("A1", "2023-01-05", "smb"),
    ("A2", "2023-03-17", "enterprise"),
    ("A3", "2023-06-01", "consumer"),
]
ORDERS = [
    ("A1", "2024-02-02 10:30:00", "120.50", "o-1"),
    ("A2", "2024-03-15 09:00:00", "80.00", "o-2"),
    ("A1", "2024-05-01 18:45:00", "-5.00", "o-3"),
    ("A9", "2024-05-02 08:00:00", "10.00", "o-4"),  # unknown customer: a rejected row
]
SPEC = """
name: {name}
as_of: 2024-06-30
tables:
  customers:
    url: "{url}"
    query: SELECT code, joined, tier FROM clients ORDER BY code
    columns: {{customer_id: CODE, signup_date: joined, segment: Tier}}
  transactions:
    url: "{url}"
    query: SELECT client, ordered_at, total, order_no FROM orders ORDER BY order_no
    columns: {{customer_id: client, ts: ordered_at, amount: total, order_id: order_no}}
    constants: {{kind: purchase}}
"""
DDL = (
    "CREATE TABLE clients (code VARCHAR(10), joined DATE, tier VARCHAR(20))",
    "CREATE TABLE orders (client VARCHAR(10), ordered_at TIMESTAMP, total NUMERIC(10, 2),"
    " order_no VARCHAR(10))",
)


def _app() -> typer.Typer:
    app = typer.Typer()
    app.callback()(lambda: None)
    import_command.register(app)
    validate_command.register(app)
    return app


def _import_and_validate(tmp_path: Path, name: str, url: str) -> str:
    spec = tmp_path / f"{name}.yaml"
    spec.write_text(SPEC.format(name=name, url=url))
    out = tmp_path / "out"
    result = CliRunner().invoke(_app(), ["import", "--spec", str(spec), "--out", str(out)])
    assert result.exit_code == 0, result.output
    checked = CliRunner().invoke(_app(), ["validate", str(out)])
    assert checked.exit_code == 0 and "contract OK" in checked.output, checked.output
    ds = apply_spec_file(spec).data
    assert ds.tables["customers"]["customer_id"].tolist() == ["A1", "A2", "A3"]
    assert str(ds.tables["customers"]["signup_date"].iloc[1].date()) == "2023-03-17"
    tx = ds.tables["transactions"]
    assert tx["ts"].iloc[0].isoformat() == "2024-02-02T10:30:00"
    assert tx["amount"].iloc[0] == 120.5
    rejected = ds.rejects["transactions"]
    assert rejected["order_id"].tolist() == ["o-4"]
    assert "unknown customer_id" in rejected["reason"].iloc[0]
    assert (out / "rejects" / "transactions.rejects.csv").is_file()
    return result.output


# --- PostgreSQL ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL server on 127.0.0.1; yields the URL of its ``crm`` database."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        pytest.fail(
            "PostgreSQL server not installed (no /usr/lib/postgresql/*/bin/initdb): run "
            "`sh scripts/ensure_postgres.sh` (make test does)"
        )
    bindir = Path(bins[-1]).parent
    root = Path(tempfile.mkdtemp(prefix="churn-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        shutil.chown(root, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()

    def run(*cmd: str) -> None:
        done = subprocess.run([*as_postgres, *cmd], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = (root / "server.log").read_text() if (root / "server.log").exists() else ""
            pytest.fail(f"{' '.join(cmd)} failed: {done.stdout}{done.stderr}{log}")

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "churn", "--auth=trust", "--no-sync")
        options = f"-k {root} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-w",
            "-t", "60", "-o", options, "start")  # fmt: skip
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={port} user=churn dbname=postgres") as conn:
            conn.autocommit = True
            conn.execute("CREATE DATABASE crm")
        with psycopg.connect(f"host=127.0.0.1 port={port} user=churn dbname=crm") as conn:
            for ddl in DDL:
                conn.execute(ddl)
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO clients VALUES (%s, %s, %s)", CUSTOMERS)
                cur.executemany("INSERT INTO orders VALUES (%s, %s, %s, %s)", ORDERS)
        yield f"postgresql+psycopg://churn:s3cret-pw@127.0.0.1:{port}/crm"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.xdist_group("postgres")
def test_postgres_export_imports_end_to_end(tmp_path, postgres):
    output = _import_and_validate(tmp_path, "pg-crm", postgres)
    assert "s3cret-pw" not in output


@pytest.mark.xdist_group("postgres")
def test_postgres_errors_hide_the_password_and_the_sql(tmp_path, postgres, monkeypatch):
    secret_query = "SELECT secret_column FROM no_such_table"
    with pytest.raises(AdapterError) as err:
        read_query(postgres, secret_query, what="crm: table 'customers'")
    message = str(err.value)
    assert "crm: table 'customers'" in message and "no_such_table" in message
    assert "s3cret-pw" not in message and "***" in message and "SELECT" not in message
    # ${VAR} in the URL comes from the environment, so a spec need not hold the password
    monkeypatch.setenv("CHURN_TEST_PG_PASSWORD", "s3cret-pw")
    url = postgres.replace("s3cret-pw", "${CHURN_TEST_PG_PASSWORD}")
    assert read_query(url, "SELECT count(*) AS n FROM orders")["n"].tolist() == ["4"]
    port = postgres.rsplit(":", 1)[1].split("/")[0]
    down = postgres.replace(f":{port}/", f":{_free_port()}/")
    with pytest.raises(AdapterError, match="crm: table 'orders': reading from .* failed") as err:
        read_query(down, "SELECT 1", what="crm: table 'orders'")
    assert "s3cret-pw" not in str(err.value)


# --- SQLite and DuckDB files -------------------------------------------------------------------


def test_sqlite_file_imports_end_to_end(tmp_path):
    db = tmp_path / "crm.sqlite"
    with sqlite3.connect(db) as conn:
        for ddl in DDL:
            conn.execute(ddl)
        conn.executemany("INSERT INTO clients VALUES (?, ?, ?)", CUSTOMERS)
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", ORDERS)
    _import_and_validate(tmp_path, "sqlite-crm", f"sqlite:///{db}")
    with pytest.raises(AdapterError, match="no database file"):
        read_query(f"sqlite:///{tmp_path / 'missing.sqlite'}", "SELECT 1")


def test_duckdb_file_imports_end_to_end_and_as_a_snapshot(tmp_path):
    db = tmp_path / "crm.duckdb"
    with duckdb.connect(str(db)) as conn:
        for ddl in DDL:
            conn.execute(ddl)
        conn.executemany("INSERT INTO clients VALUES (?, ?, ?)", CUSTOMERS)
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", ORDERS)
        conn.execute(
            "CREATE TABLE accounts AS SELECT * FROM (VALUES ('a1', true, 3, 20.5, 'basic'),"
            " ('a2', false, 30, 50.0, 'pro'), ('a3', false, NULL, 35.0, 'basic'))"
            " t(account, churned, months, fee, plan)"
        )
    _import_and_validate(tmp_path, "duck-crm", f"duckdb:///{db}")
    spec = tmp_path / "snap.yaml"
    spec.write_text(
        f"kind: snapshot\nname: duck-isp\nurl: duckdb:///{db}\nquery: SELECT * FROM accounts\n"
        "id: account\nlabel: churned\npositive: ['True']\nvalue: fee\n"
    )
    data = apply_spec_file(spec).data
    assert data.frame["churned"].tolist() == [1.0, 0.0, 0.0]
    assert data.features == ("months", "fee", "plan") and data.frame["months"].isna().sum() == 1
    with pytest.raises(AdapterError, match="duck: table 'x'.*orders_2020") as err:
        read_query(f"duckdb:///{db}", "SELECT * FROM orders_2020", what="duck: table 'x'")
    assert "SELECT" not in str(err.value)
