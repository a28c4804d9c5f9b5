"""Chinese on the command line (issue 32): each group of commands run with ``--lang zh`` prints no
English word outside the allow-list (the checker of the zh pages, ``tests/e2e/english.py``), the
data's own values, ids, paths, file names and the contract's column names; ``$CHURN_LANG`` is the
default, and a language the product does not speak is an error that names the supported ones.

Reuses the session's scored book (``tests/churn/conftest.py``): no training here.
"""

from __future__ import annotations

import errno
import importlib.util
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from churn.cli import _error_label, app, failure_line
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
    revisions = (
        Path(__file__).resolve().parents[2] / "scoring" / "store" / "migrations" / "versions"
    )
    allowed = _allowed(scored.data) | {p.stem for p in revisions.glob("0*.py")}  # revision ids
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


TINY_TRAINING = {
    "training": {
        "split": {"train_cutoffs": 2},
        "churn": {"params": {"max_rounds": 30, "num_leaves": 7, "min_data_in_leaf": 20}},
        "value": {"params": {"max_rounds": 30, "num_leaves": 7, "min_data_in_leaf": 20}},
        "shap_sample": 100,
        "early_stopping_rounds": 10,
        "selection": {"validation_cutoffs": 1, "candidates": ["lightgbm"]},
    }
}
"""The smallest training of ``churn train`` (tests/training/test_registration.py's SMALL)."""

SAID_AS_IS = {"Gamma", "UTF", "TotalCharges", "churned", "future_value", "churn_definition",
              "auto", "encoding", "as_of", "categorical", "row"}  # fmt: skip
"""Names a note says as they are: a method, an encoding, a source column, the output's columns and
config keys."""


def _typed(text: str) -> str:
    """``text`` without the typed commands (`churn validate DIR`) and dotted names (config keys
    such as data.max_bad_row_share, columns such as complaints.severity): they stay as they are."""
    return re.sub(r"`[^`]*`|\b[a-z_]+(\.[a-z_]+)+\b", " ", text)


def _said(text: str) -> str:
    """What the command said, without MLflow's INFO log lines (the ``churn`` entry point keeps
    them off stderr, CliRunner does not)."""
    info = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d INFO ")
    return "\n".join(line for line in text.splitlines() if not info.match(line))


def test_every_note_the_library_says_reads_in_chinese():
    """What features, training and scoring say (``core/words/notes.yaml``): the Chinese of every
    note, placeholders left out, has no English word outside the allow-list."""
    from core.lang import catalogue

    entries = catalogue("notes").entries
    assert len(entries) > 50
    found = {
        key: words
        for key, entry in entries.items()
        if (words := english.english_words(
            _typed(re.sub(r"\{[^}]*\}|\[/?[a-z ]+\]", " ", entry["zh"])), COLUMNS | SAID_AS_IS | set(TABLES)))
    }  # fmt: skip
    assert found == {}


def test_train_in_chinese_says_the_gate_decisions_and_its_notes(scored, cli, tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY_TRAINING), "utf-8")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    out = _zh(cli, "train", "--data", str(scored.data), "--config", str(config),
              "--tracking-uri", uri)  # fmt: skip
    assert "churn-model v1：冠军模型（首个版本：尚无冠军模型）" in out, out
    assert "value-model v1：冠军模型" in out
    assert "Failed to infer model signature" not in out  # MLflow's noise is silenced
    said = _said(out.split("MLflow 运行", 1)[0])  # the typed Python lines after it stay as is
    found = english.english_words(said, _allowed(scored.data))
    assert found == [], found


def test_gate_reasons_read_in_chinese_and_stay_english_in_the_registry():
    from training.config import PromotionConfig
    from training.promotion import decide

    cfg = PromotionConfig()
    new = {m + "_live": 0.5 for m in (*cfg.churn_higher, *cfg.churn_lower)}
    old = {m + "_live": 0.9 for m in (*cfg.churn_higher, *cfg.churn_lower)}
    worse = decide("churn-model", "2", "churn", new, "1", old, cfg)
    assert worse.outcome == "challenger"
    assert worse.reason.startswith("worse than champion v1 on the same test data: ")
    assert " vs champion 0.9000 (allowed >= " in worse.reason
    zh = worse.said("zh")
    assert zh.startswith("在同一测试数据上不如冠军模型 v1：") and "冠军模型 0.9000（允许 >=" in zh
    assert "why" not in worse.to_dict()  # the logged JSON keeps its fields
    same = decide("churn-model", "2", "churn", old, "1", old, cfg)
    assert same.said("zh") == "每项把关指标都不差于冠军模型 v1"
    assert same.line("en") == "churn-model v2: [bold]champion[/bold] (" + same.reason + ")"


def test_errors_below_the_commands_say_chinese(scored, cli, tmp_path):
    missing = f"sqlite:///{tmp_path / 'missing.db'}"
    args = ["store", "version", "--store", missing, "--lang", "zh"]
    failed = cli.invoke(app, args, prog_name="churn")
    said = failed.output.strip()
    assert failed.exit_code == 2 and said.startswith("错误： 无法读取预测库 "), said
    assert said.endswith("：预测库不存在或无法打开") and english.english_words(said) == []
    english_run = cli.invoke(app, args[:-2], prog_name="churn")
    assert "cannot read the store " in english_run.output  # English as before

    args = ["users", "add", "mona", "--role", "lead", "--password-stdin",
            "--config", str(scored.config), "--lang", "zh"]  # fmt: skip
    refused = cli.invoke(app, args, input="short\n", prog_name="churn")
    assert refused.exit_code == 2 and "错误： 密码未被接受：它只有 5 个字符" in refused.output
    assert english.english_words(refused.output) == [], refused.output

    data = tmp_path / "data"
    shutil.copytree(scored.data, data)
    path = data / "transactions.parquet"
    frame = pd.read_parquet(path)
    bad = frame.head(3).copy()
    bad["customer_id"] = "C9999999"  # no such customer
    pd.concat([frame, bad], ignore_index=True).to_parquet(path, index=False)
    args = ["features", "--data", str(data), "--cutoff", scored.asof, "--max-bad-row-share", "0",
            "--out", str(tmp_path / "f.parquet"), "--lang", "zh"]  # fmt: skip
    stopped = cli.invoke(app, args, prog_name="churn")
    shown = re.sub(r"\s+", " ", stopped.output)
    assert stopped.exit_code == 2 and "超过允许的坏行比例 0；最常见的原因：" in shown
    assert "事件的 customer_id 不在客户表中（3 行）" in shown, shown
    found = english.english_words(_typed(stopped.output), _allowed(data))
    assert found == [], found

    full = OSError(errno.ENOSPC, "No space left on device", "/tmp/out.csv")
    said = failure_line(full, "zh") or ""
    assert (
        said.startswith("设备空间不足（写入 /tmp/out.csv 时）")
        and english.english_words(said) == []
    )
    assert (failure_line(full) or "").startswith("no space left on the device writing /tmp/out.csv")


def test_train_snapshot_in_chinese_says_its_column_notes_and_rejections(cli, tmp_path):
    import numpy as np

    rng = np.random.default_rng(1)
    n = 300
    frame = pd.DataFrame({"cust": [f"K{i}" for i in range(n)],
                          "usage": rng.gamma(2, 10, n).round(2).astype(object),
                          "plan": rng.choice(["basic", "pro"], n),
                          "left": np.where(rng.random(n) < 0.3, "yes", "no"), "const": "x"})  # fmt: skip
    frame.loc[3, "usage"], frame.loc[5, "usage"] = None, "abc"
    frame.to_csv(tmp_path / "snap.csv", index=False)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    out = _zh(cli, "train-snapshot", str(tmp_path / "snap.csv"), "--id", "cust", "--label",
              "left", "--tracking-uri", uri)  # fmt: skip
    assert "客户编号" in out and "流失 = 'yes'" in out and "只有一个取值" in out
    assert "“usage：不是数字”（1 行，首次出现在第 7 行）" in out, out
    assert "usage：1 个空白值按缺失值保留" in out
    assert "snap-churn-model v1：冠军模型（首个版本：尚无冠军模型）" in out
    said = _said(out).split("MLflow", 1)[0]
    allowed = {"snap", "snap.csv", "cust", "usage", "plan", "left", "const", "yes", "basic", "pro"}
    assert english.english_words(said, allowed) == [], said


def test_the_list_files_of_a_chinese_score_read_chinese(scored, cli, tmp_path):
    """``churn score --lang zh`` writes its list CSVs for a Chinese reader: why-listed line,
    reasons, band, lifecycle and action in Chinese; the column names stay English identifiers."""
    store = f"sqlite:///{tmp_path / 's.db'}"
    at_risk, win_back = tmp_path / "a.csv", tmp_path / "w.csv"
    _zh(cli, "score", "--data", str(scored.data), "--asof", scored.asof, "--config",
        str(scored.config), "--store", store, "--out", str(at_risk), "--win-back-out",
        str(win_back), "--top", "0")  # fmt: skip
    english_list = pd.read_csv(scored.root / "at_risk.csv")
    for path in (at_risk, win_back):
        rows = pd.read_csv(path)
        assert list(rows.columns) == list(english_list.columns)
        read = ["why_listed", "reason_1", "risk_band", "lifecycle_status", "recommended_action"]
        text = " ".join(rows[read].fillna("").astype(str).to_numpy().ravel())
        assert english.english_words(text, _allowed(scored.data)) == [], path.name
    shown = pd.read_csv(at_risk)
    assert len(shown) == len(english_list) > 0 and "流失概率" in shown.loc[0, "why_listed"]
    assert "例行回访" in set(shown["recommended_action"])  # a contact that pays, named in zh
