"""Store upgrades: a store of the previous release is upgraded in place with every row kept,
the migrations build exactly the schema module's tables, a newer store is refused, two
processes opening one store at once both succeed with the upgrade applied once, and ``churn
store`` upgrades, reports and prints the SQL."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from typer.testing import CliRunner

from scoring.store.errors import StoreVersionError
from scoring.store.migrate import head
from scoring.store.predictions import PredictionStore
from scoring.store.schema import METADATA, VERSION_TABLE

ROOT = Path(__file__).resolve().parents[2]
PREVIOUS = Path(__file__).with_name("fixtures") / "previous_store.db"
"""A store written by the release before migrations (fixtures/make_previous_store.py)."""


ADDED_COLUMNS = {"predictions": ("rfm_segment", "rfm_score"), "ui_contacts": ("cost",)}
"""Nullable columns later revisions add (NULL in every row the previous release wrote)."""


def _rows(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table of the store but the version table, sorted, without the columns
    later revisions added (checked to be NULL)."""
    with sqlite3.connect(path) as conn:
        names = [
            n
            for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if n != VERSION_TABLE
        ]
        out = {}
        for n in names:
            cols = [c for (_, c, *_) in conn.execute(f'PRAGMA table_info("{n}")')]
            added = [c for c in cols if c in ADDED_COLUMNS.get(n, ())]
            kept = ", ".join(f'"{c}"' for c in cols if c not in added)
            if added:
                nulls = " AND ".join(f'"{c}" IS NULL' for c in added)
                assert (
                    conn.execute(f'SELECT COUNT(*) FROM "{n}" WHERE NOT ({nulls})').fetchone()[0]
                    == 0
                )
            out[n] = sorted(conn.execute(f'SELECT {kept} FROM "{n}"').fetchall(), key=repr)
        return out


ADDED_LATER = {"predictions": 3}
"""Columns later revisions append to a table (NULL in every row the previous release wrote)."""


def _kept(before: dict[str, list[tuple]], after: dict[str, list[tuple]]) -> bool:
    """Whether ``after`` holds every row of ``before``, the later columns NULL; tables a later
    revision added are empty."""
    for name, rows in after.items():
        extra = ADDED_LATER.get(name, 0)
        if any(r[len(r) - extra :] != (None,) * extra for r in rows):
            return False
        if name not in before:
            if rows:
                return False
        elif [r[: len(r) - extra] for r in rows] != before[name]:
            return False
    return set(before) <= set(after)


def _version(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [v for (v,) in conn.execute(f"SELECT version_num FROM {VERSION_TABLE}")]


@pytest.fixture
def previous(tmp_path: Path) -> Path:
    path = tmp_path / "serving.db"
    shutil.copyfile(PREVIOUS, path)
    return path


def test_a_previous_release_store_is_upgraded_in_place_and_keeps_every_row(previous: Path):
    before = _rows(previous)
    assert sum(map(len, before.values())) > 20 and VERSION_TABLE not in before
    store = PredictionStore(f"sqlite:///{previous}")
    assert _version(previous) == [head()]
    assert _kept(before, _rows(previous))
    run = store.run()
    assert (run.asof, run.horizon_days, run.n_customers) == ("2024-06-01", 90, 4)
    _, rows = store.features_for(["C00", "C03"], "2024-05-01")
    assert sorted(rows["customer_id"]) == ["C00", "C03"] and rows["recency_days"].iloc[0] > 0
    store.close()
    PredictionStore(f"sqlite:///{previous}").close()  # opening again changes nothing
    assert _kept(before, _rows(previous)) and _version(previous) == [head()]


def test_the_migrations_build_the_tables_of_the_schema_module(tmp_path: Path):
    store = PredictionStore(f"sqlite:///{tmp_path / 'new.db'}")
    with store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_name": lambda n, t, _: t != "table" or n in METADATA.tables}
        )
        assert compare_metadata(context, METADATA) == []
        assert set(sa.inspect(conn).get_table_names()) == {*METADATA.tables, VERSION_TABLE}
    store.close()


def test_a_store_newer_than_the_code_is_refused_naming_both_versions(previous: Path):
    PredictionStore(f"sqlite:///{previous}").close()
    with sqlite3.connect(previous) as conn:
        conn.execute(f"UPDATE {VERSION_TABLE} SET version_num = '0099_from_the_future'")
    before = _rows(previous)
    with pytest.raises(StoreVersionError) as caught:
        PredictionStore(f"sqlite:///{previous}")
    assert "0099_from_the_future" in str(caught.value) and head() in str(caught.value)
    assert (
        "0099_from_the_future" in caught.value.public and str(previous) not in caught.value.public
    )
    assert _rows(previous) == before and _version(previous) == ["0099_from_the_future"]


OPEN_AT_ONCE = """
import json, sys, time
from pathlib import Path
import sqlalchemy as sa
from scoring.store.migrate import upgrade
url, go = sys.argv[1], Path(sys.argv[2])
Path(sys.argv[3]).touch()
while not go.exists():
    time.sleep(0.005)
done = upgrade(sa.create_engine(url))
print(json.dumps([done.before, done.after]))
"""


def test_two_processes_opening_one_store_at_once_both_succeed_and_upgrade_once(
    previous: Path, tmp_path: Path
):
    before = _rows(previous)
    go = tmp_path / "go"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_AT_ONCE, f"sqlite:///{previous}", str(go), str(ready)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for ready in (tmp_path / "a", tmp_path / "b")
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / n).exists() for n in "ab") and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()  # both have imported what they need: they open the store together
    answers = [w.communicate(timeout=120) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], [err for _, err in answers]
    got = sorted((tuple(json.loads(out)) for out, _ in answers), key=repr)
    assert got == sorted([(None, head()), (head(), head())], key=repr)  # one upgraded it
    assert _version(previous) == [head()] and _kept(before, _rows(previous))


def _churn(*args: str):  # type: ignore[no-untyped-def]
    from churn.cli import register_commands

    return CliRunner().invoke(register_commands(), list(args), prog_name="churn")


def test_churn_store_upgrades_reports_and_prints_the_sql(previous: Path, tmp_path: Path):
    url = f"sqlite:///{previous}"
    done = _churn("store", "version", "--store", url)
    assert done.exit_code == 0 and "schema none" in done.output and head() in done.output
    done = _churn("store", "upgrade", "--store", url)
    assert done.exit_code == 0 and f"from none to {head()}" in " ".join(done.output.split())
    done = _churn("store", "version", "--store", url)
    assert done.exit_code == 0 and "up to date" in " ".join(done.output.split())
    sql = _churn("store", "upgrade", "--sql", "--store", "postgresql+psycopg://u@db/churn")
    assert sql.exit_code == 0
    assert "CREATE TABLE predictions" in sql.output and "DOUBLE PRECISION" in sql.output
    assert f"CREATE TABLE {VERSION_TABLE}" in sql.output and "INSERT INTO" in sql.output
    missing = tmp_path / "missing.db"
    done = _churn("store", "version", "--store", f"sqlite:///{missing}")
    assert done.exit_code == 2 and not missing.exists()
