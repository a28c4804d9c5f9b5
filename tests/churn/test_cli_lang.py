"""Chinese on the command line (issue 32): each group of commands run with ``--lang zh`` prints no
English word outside the allow-list (the checker of the zh pages, ``tests/e2e/english.py``), the
data's own values, ids, paths, file names and the contract's column names; ``$CHURN_LANG`` is the
default, and a language the product does not speak is an error that names the supported ones.

Reuses the session's scored book (``tests/churn/conftest.py``): no training here.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from churn.cli import _error_label, app
from features.contract import TABLES
from features.reject_reasons import reason_in

pytestmark = pytest.mark.xdist_group("cli-output")

_spec = importlib.util.spec_from_file_location(
    "english", Path(__file__).resolve().parents[1] / "e2e" / "english.py"
)
assert _spec is not None and _spec.loader is not None
english = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(english)

COLUMNS = {c.name for t in TABLES.values() for c in t.columns}
"""The data contract's column names: a reason names the column of the file to fix."""


def _zh(cli, *args: str, env: dict[str, str] | None = None) -> str:
    result = cli.invoke(app, [*args, "--lang", "zh"], prog_name="churn", env=env)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result.output


def _allowed(folder: Path) -> set[str]:
    return english.data_values(folder) | {p.name for p in folder.iterdir()} | COLUMNS


def test_validate_and_features_in_chinese_say_why_rows_were_rejected(scored, cli, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(scored.data, data)
    path = data / "transactions.parquet"
    frame = pd.read_parquet(path)
    bad = frame.head(2).copy()
    bad.loc[bad.index[0], "customer_id"] = "C9999999"  # no such customer
    bad.loc[bad.index[1], "ts"] = pd.Timestamp("2100-01-01")  # after the as-of date
    pd.concat([frame, bad], ignore_index=True).to_parquet(path, index=False)

    out = _zh(cli, "validate", str(data), "--rejects", str(tmp_path / "rejects"))
    assert "数据表" in out and "拒绝行数" in out and "共拒绝 2 行" in out
    assert "不在客户表中" in out and "晚于数据截止日" in out and "年" in out
    assert english.english_words(out, _allowed(data)) == []
    args = ["validate", str(data), "--rejects", str(tmp_path / "rejects"), "--lang", "zh"]
    stopped = cli.invoke(app, [*args, "--max-bad-row-share", "0"], prog_name="churn")
    assert stopped.exit_code == 2 and "超过允许的坏行比例 0" in stopped.output, stopped.output
    rejects = pd.read_csv(tmp_path / "rejects" / "transactions.rejects.csv")
    assert rejects["reason"].str.contains("unknown customer_id").any()  # the file stays English

    features = _zh(cli, "features", "--data", str(scored.data), "--cutoff", scored.asof,
                   "--out", str(tmp_path / "f.parquet"))  # fmt: skip
    assert "活跃客户" in features and "标签：" in features
    assert english.english_words(features, _allowed(scored.data)) == []


def test_rejection_reasons_read_back_in_chinese_and_unknown_ones_stay():
    reason = "amount: not a number (got abc); duplicate order_id (first seen at row 7); odd thing"
    said = reason_in(reason, "zh")
    assert said == "amount：不是数字（实际为 abc）；order_id 重复（首次出现在第 7 行）；odd thing"
    assert reason_in(reason, "en") == reason


def test_store_users_export_plans_and_kpi_in_chinese(scored, cli, tmp_path):
    config = str(scored.config)
    allowed = _allowed(scored.data) | {"0005_improvement_plans"}  # the store's revision id
    out = _zh(cli, "store", "version", "--config", config)
    out += _zh(cli, "users", "list", "--config", config)
    out += _zh(cli, "export", "contacts", "--out", str(tmp_path / "c.csv"), "--config", config)
    out += _zh(cli, "plans", "--period", scored.period, "--config", config)
    out += _zh(cli, "kpi", "--period", scored.period, "--config", config)
    assert "预测库" in out and "提交整改方案" in out and "客户经理绩效考核" in out
    found = english.english_words(out, allowed)
    assert found == [], found


def test_churn_lang_is_the_default_and_a_bad_language_is_refused(scored, cli):
    args = ["store", "version", "--config", str(scored.config)]
    zh = cli.invoke(app, args, prog_name="churn", env={"CHURN_LANG": "zh"})
    assert zh.exit_code == 0 and "预测库" in zh.output and "store" not in zh.output
    en = cli.invoke(app, [*args, "--lang", "en"], prog_name="churn", env={"CHURN_LANG": "zh"})
    assert en.exit_code == 0 and en.output.startswith("store ")
    for bad in (["--lang", "fr"], []):
        env = {"CHURN_LANG": "xx"} if not bad else None
        refused = cli.invoke(app, [*args, *bad], prog_name="churn", env=env)
        said = re.sub(r"[\s│]+", " ", refused.output)
        assert refused.exit_code == 2 and "use one of en, zh" in said, said
    assert (
        _error_label(["kpi", "--lang", "zh"]) == "错误："
        and _error_label(["--lang=en"]) == "error:"
    )


def test_the_annual_assessment_table_in_chinese():
    from rich.console import Console

    from churn.commands.kpi import _annual_section

    managers = pd.DataFrame({"account_manager_id": ["M1"], "performance": [81.0],
                             "ability": [90.0], "attitude": [85.0], "annual_score": [84.2],
                             "annual_grade": ["Good"]})  # fmt: skip
    section = _annual_section(managers, "2024", "zh")
    assert section is not None
    console = Console(record=True, width=160)
    console.print(section.table)
    shown = console.export_text()
    assert "年度考核（2024）" in shown and "年度考核评分" in shown and "良好" in shown
    assert english.english_words(shown, {"M1"}) == [], shown
    assert list(section.frame.columns)[-1] == "annual_grade"  # data keys stay English
