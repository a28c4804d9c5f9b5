"""The store on a real PostgreSQL server: batch scoring writes with COPY, and every read gives
what the same batch reads back from SQLite (text, numbers, NULLs, dates)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from features.dataset import Dataset
from scoring.batch.job import save_batch, score_customers
from scoring.champions import Champions
from scoring.config import ServingConfig
from scoring.store.predictions import AtRiskQuery, PredictionStore


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL server on 127.0.0.1; yields the URL of an empty database."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        pytest.fail("PostgreSQL server not installed: run `sh scripts/ensure_postgres.sh`")
    bindir = Path(bins[-1]).parent
    root = Path(tempfile.mkdtemp(prefix="churn-store-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        shutil.chown(root, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    data = root / "data"

    def run(*cmd: str) -> None:
        done = subprocess.run([*as_postgres, *cmd], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{' '.join(cmd)}: {done.stdout}{done.stderr}"

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "churn", "--auth=trust", "--no-sync")
        options = f"-k {root} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-w",
            "-t", "60", "-o", options, "start")  # fmt: skip
        yield f"postgresql+psycopg://churn@127.0.0.1:{port}/postgres"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(root, ignore_errors=True)


def test_copy_into_postgresql_reads_back_like_sqlite(
    postgres: str, book: Dataset, champions: Champions, tmp_path: Path
):
    cfg = ServingConfig()
    batch = score_customers(book, book.as_of, champions, cfg)
    stores = {
        "sqlite": PredictionStore(f"sqlite:///{tmp_path / 's.db'}"),
        "postgresql": PredictionStore(postgres),
    }
    for store in stores.values():
        save_batch(store, batch, cfg, source="test")
        save_batch(store, batch, cfg, source="test")  # scoring a date again replaces it
    ids = list(batch.predictions["customer_id"])
    read = {
        name: (
            store.run().n_customers,
            store.feature_records(ids)[1],
            store.at_risk(AtRiskQuery(limit=1000)).rows.to_dict("records"),
            [store.customer(c) for c in ids[:5]],
            store.first_records(3),
        )
        for name, store in stores.items()
    }
    n, records, page, customers, first = read["postgresql"]
    assert n == len(batch.predictions) and len(records) == n and page
    assert any(v is None for r in records.values() for v in r.values())  # NULLs stay NULL
    assert {c.scores["last_purchase_date"] for c in customers if c} <= {None} | {
        d for d in batch.predictions["last_purchase_date"].dt.strftime("%Y-%m-%d")
    }
    assert read["postgresql"][:3] == read["sqlite"][:3]
    assert [(c.features, c.scores) for c in customers] == [
        (c.features, c.scores) for c in read["sqlite"][3]
    ]
    assert first == read["sqlite"][4]
    assert stores["postgresql"].signal_reload("k") == 1 == stores["sqlite"].signal_reload("k")
    assert stores["postgresql"].reload_generation("k") == 1
    for store in stores.values():
        store.close()


def test_a_store_sharing_its_database_with_mlflow_is_upgraded_once_beside_its_alembic_version(
    postgres: str,
):
    import threading

    import sqlalchemy as sa

    from scoring.store.migrate import head
    from scoring.store.predictions import upgrade_store
    from scoring.store.schema import VERSION_TABLE

    with sa.create_engine(postgres, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(sa.text("CREATE DATABASE shared"))
    url = postgres.rsplit("/", 1)[0] + "/shared"
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # MLflow's version table, and a store from before the lists
        conn.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        conn.execute(sa.text("INSERT INTO alembic_version VALUES ('mlflow_7f2a')"))
        conn.execute(sa.text(
            "CREATE TABLE predictions (asof VARCHAR(10), customer_id VARCHAR(200), "
            "account_manager_id VARCHAR(200), segment VARCHAR(200), "
            "churn_probability DOUBLE PRECISION NOT NULL, predicted_value DOUBLE PRECISION NOT NULL, "
            "expected_value_at_risk DOUBLE PRECISION NOT NULL, risk_band VARCHAR(10) NOT NULL, "
            "churn_model_version VARCHAR(50) NOT NULL, value_model_version VARCHAR(50) NOT NULL, "
            "PRIMARY KEY (asof, customer_id))"
        ))  # fmt: skip
        conn.execute(sa.text(
            "INSERT INTO predictions VALUES ('2024-05-31', 'C1', 'AM1', 'smb', 0.4, 100.0, 40.0, "
            "'medium', '1', '1')"
        ))  # fmt: skip
    barrier, done, failed = threading.Barrier(2), [], []

    def open_store() -> None:
        barrier.wait(timeout=30)
        try:
            done.append(upgrade_store(url))
        except Exception as exc:  # reported by the assertion below
            failed.append(exc)

    threads = [threading.Thread(target=open_store) for _ in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert failed == [] and sorted((d.before or "", d.after) for d in done) == [
        ("", head()),
        (head(), head()),
    ]
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).all() == [
            ("mlflow_7f2a",)
        ]
        assert conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).all() == [
            (head(),)
        ]
        rows = conn.execute(sa.text("SELECT customer_id, lifecycle_status FROM predictions"))
        assert rows.all() == [("C1", None)]
        assert {"scoring_runs", "ui_users", "ui_contacts"} <= set(
            sa.inspect(conn).get_table_names()
        )
    engine.dispose()
