"""What the commands print when piped: whole ids in tables, integer ranks, clean CSV and JSON on
stdout (messages on stderr), Chinese headers with ``--lang zh``, library logs in the log file.

CliRunner's stdout is not a terminal, as a pipe or a log file is not.
"""

from __future__ import annotations

import io
import json
import logging
import re

import pandas as pd
import pytest

from churn.cli import LIBRARY_LOGGERS, app, configure_logging
from core.lang import catalogue

pytestmark = pytest.mark.xdist_group("cli-output")

ID = re.compile(r"\bC\d{7}\b")


def _run(cli, *args: str):
    result = cli.invoke(app, list(args), prog_name="churn")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result


def test_piped_score_table_shows_whole_ids_and_integer_ranks(scored):
    top = pd.read_csv(scored.root / "at_risk.csv", dtype={"customer_id": "str"}).head(10)
    out = scored.output
    assert "…" not in out and "..." not in out
    for cid in top["customer_id"]:
        assert re.search(rf"│\s+{cid}\s+│", out), f"{cid} not whole in the table"
    ranks = re.findall(r"^│\s+(\S+)\s+│ C\d{7}", out, flags=re.M)
    assert ranks[:10] == [str(r) for r in range(1, 11)]


def test_score_csv_and_json_hold_the_listed_rows(scored, cli):
    args = ["score", "--data", str(scored.data), "--asof", scored.asof]
    args += ["--config", str(scored.config), "--out", str(scored.root / "again.csv")]
    args += ["--win-back-out", str(scored.root / "again_wb.csv")]
    csv = _run(cli, *args, "--format", "csv")
    frame = pd.read_csv(io.StringIO(csv.stdout), dtype={"customer_id": "str"})
    at_risk = pd.read_csv(scored.root / "again.csv", dtype={"customer_id": "str"}).head(10)
    win_back = pd.read_csv(scored.root / "again_wb.csv", dtype={"customer_id": "str"}).head(10)
    assert list(frame["table"].unique()) == ["at_risk", "win_back"]
    listed = frame[frame["table"] == "at_risk"]
    assert listed["customer_id"].tolist() == at_risk["customer_id"].tolist()
    assert frame[frame["table"] == "win_back"]["customer_id"].tolist() == (
        win_back["customer_id"].tolist()
    )
    assert listed["rank"].dtype.kind == "i" and listed["rank"].tolist() == list(range(1, 11))
    assert "batch scoring as of" in csv.stderr and "batch scoring" not in csv.stdout

    got = json.loads(_run(cli, *args, "--format", "json").stdout)
    assert set(got) == {"summary", "at_risk", "win_back"}
    assert [r["customer_id"] for r in got["at_risk"]] == at_risk["customer_id"].tolist()
    assert all(isinstance(r["rank"], int) for r in got["at_risk"] + got["win_back"])
    summary = {r["what"]: r["value"] for r in got["summary"]}
    assert summary["customers scored"] == sum(
        summary[f"lifecycle {s}"] for s in ("active", "lapsing", "lapsed")
    )


def test_kpi_formats_give_the_same_managers(scored, cli):
    args = ["kpi", "--period", scored.period, "--config", str(scored.config)]
    table = _run(cli, *args).stdout
    csv = _run(cli, *args, "--format", "csv")
    frame = pd.read_csv(io.StringIO(csv.stdout), dtype={"account_manager_id": "str"})
    managers = frame[frame["table"] == "managers"]
    assert len(managers) >= 2 and set(frame["table"]) <= {"managers", "teams", "campaigns"}
    for mid in managers["account_manager_id"]:
        assert re.search(rf"\b{mid}\b", table)
    assert "predictions made at" in csv.stderr and "predictions made at" not in csv.stdout
    ranks = pd.read_csv(io.StringIO(csv.stdout), dtype=str)["rank"].dropna()
    assert len(ranks) and ranks.str.fullmatch(r"\d+").all(), ranks.tolist()
    assert frame["satisfaction"].dtype.kind == "f"  # shares stay numbers with decimals
    got = json.loads(_run(cli, *args, "--format", "json").stdout)
    assert [r["account_manager_id"] for r in got["managers"]] == managers[
        "account_manager_id"
    ].tolist()
    assert all(r["rank"] is None or isinstance(r["rank"], int) for r in got["managers"])


def test_validate_formats_count_the_same_tables(scored, cli):
    table = _run(cli, "validate", str(scored.data)).stdout
    csv = _run(cli, "validate", str(scored.data), "--format", "csv")
    frame = pd.read_csv(io.StringIO(csv.stdout))
    assert {"customers", "transactions"} <= set(frame["table"])
    assert (frame["read"] == frame["accepted"] + frame["rejected"]).all()
    for name, read in zip(frame["table"], frame["read"], strict=True):
        assert re.search(rf"│ {name}\s+│.*│\s+{read:,} │", table), name
    assert "contract OK" in csv.stderr and "contract OK" not in csv.stdout
    got = json.loads(_run(cli, "validate", str(scored.data), "--format", "json").stdout)
    assert [r["table"] for r in got["tables"]] == frame["table"].tolist()
    assert all(isinstance(r["read"], int) for r in got["tables"])


def test_explain_in_chinese_has_chinese_headers(scored, cli, tmp_path):
    cid = pd.read_csv(scored.root / "at_risk.csv", dtype={"customer_id": "str"})["customer_id"][0]
    args = ["explain", "--customer-id", cid, "--config", str(scored.config)]
    args += ["--asof", scored.asof, "--out", str(tmp_path / "w.png")]
    zh = _run(cli, *args, "--lang", "zh").stdout
    assert "原因" in zh and "特征" in zh and "对数几率" in zh and "客户 " + cid in zh
    en = _run(cli, *args, "--format", "json").stdout
    rows = json.loads(en)["reasons"]
    assert rows and rows[0]["customer_id"] == cid and rows[0]["rank"] == 1


def test_cli_strings_have_both_languages_and_english_is_unchanged():
    t = catalogue("cli").t
    assert t("reason") == "reason" and t("reason", "zh") == "原因"
    assert t("report_written", path="r.html", mb=1.25) == "report written to r.html (1.2 MB)"


def test_library_info_logs_go_to_the_log_file_not_stderr(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CHURN_HOME", str(tmp_path))
    monkeypatch.delenv("CHURN_LOG_LEVEL", raising=False)
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    libs = {n: logging.getLogger(n) for n in LIBRARY_LOGGERS}
    saved = {n: (lg.handlers, lg.propagate, lg.level) for n, lg in libs.items()}
    try:
        path = configure_logging()
        logging.getLogger("mlflow.store.db.utils").info("Creating initial MLflow database tables")
        logging.getLogger("alembic.runtime").warning("a warning people should see")
        for h in root.handlers:
            h.flush()
        err = capsys.readouterr().err
        assert path == tmp_path / "logs" / "churn.log"
        written = path.read_text(encoding="utf-8")
        assert "Creating initial MLflow database tables" in written
        assert "Creating initial" not in err and "a warning people should see" in err
    finally:
        for h in [h for h in root.handlers if h not in before]:
            root.removeHandler(h)
            h.close()
        root.setLevel(level)
        logging.captureWarnings(False)
        for n, (handlers, propagate, lib_level) in saved.items():
            libs[n].handlers, libs[n].propagate = handlers, propagate
            libs[n].setLevel(lib_level)
