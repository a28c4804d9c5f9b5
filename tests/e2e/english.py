"""English left on a Chinese page: words of three or more Latin letters, outside the allowed
names (issue 32's allow-list), ids, model names, paths, numbers and the customer's own data
values. Shared by the browser test of the zh workspace and ``scripts/english_on_zh_pages.py``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

ALLOWED = frozenset(
    [
        "SHAP",
        "ROC",
        "AUC",
        "PR",
        "ECE",
        "KPI",
        "CSV",
        "API",
        "ID",
        "RFM",
        "LightGBM",
        "MLflow",
        "BentoML",
        "Qini",
        "AUUC",
        "UTC",
        "CBPE",
        "PSI",
        "CSAT",
        "Brier",
        "Jensen",
        "Shannon",
        "HTML",
        "JSON",
        "URL",
        "English",
        "TreeSHAP",
        "sigmoid",
    ]
)
"""Names a Chinese reader meets as they are (the issue's allow-list; TreeSHAP and sigmoid are
the method names the report's notes cite)."""
UPPER = frozenset(w.upper() for w in ALLOWED)
MODEL = re.compile(
    r"^[a-z][a-z0-9]*(-[a-z0-9]+)*-model$|^(lightgbm|rfm_baseline|recency|[a-z_]+_baseline)$"
)
ID = re.compile(r"^[A-Z]{1,3}\d+$|^[A-Z]\d{4,}$")
VISIBLE_TEXT = """() => {
  let shown = document.body.innerText;
  for (const e of document.querySelectorAll('code, pre, kbd')) {
    shown = shown.split(e.innerText).join(' ');
  }
  const holders = Array.from(document.querySelectorAll('[placeholder]')).map(e => e.placeholder);
  return [shown, ...holders].join('\\n');
}"""
"""The text people read on a page (typed commands in ``code`` left out)."""


def data_values(folder: Path) -> set[str]:
    """Every text value of the customer's own export (manager and team names, regions, plans,
    segments, categories, campaign ids), the words inside them too; not the fixed values of the
    data contract (interaction channels and directions, transaction kinds, outcomes)."""
    import pandas as pd

    from features.contract import TABLES

    fixed = {(t.name, c.name) for t in TABLES.values() for c in t.columns if c.allowed}
    out: set[str] = set()
    for path in sorted(folder.glob("*.parquet")) + sorted(folder.glob("*.csv")):
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
        for col in frame.columns:
            if (path.stem, col) in fixed:  # the data contract's values are translated
                continue
            if frame[col].dtype.kind not in "fiubmM":
                for value in frame[col].dropna().astype(str).unique()[:5000]:
                    out.add(value)
                    out.update(re.findall(r"[A-Za-z]+", value))
    return out


def english_words(text: str, allowed_values: Iterable[str] = ()) -> list[str]:
    """The English words of ``text`` (3+ Latin letters) that are not allowed, in order."""
    values = set(allowed_values)
    found: list[str] = []
    for token in re.split(r"[\s,;()（）：，；。、·|\[\]{}\"'“”<>=]+", text):
        token = token.strip(":.")
        if not token or token in values or "/" in token or "\\" in token or "@" in token:
            continue
        if MODEL.match(token) or ID.match(token) or token.startswith(("--", "$")):
            continue
        for word in re.findall(r"[A-Za-z]{3,}", token):
            if word in ALLOWED or word.upper() in UPPER or word in values:
                continue
            found.append(word)
    return found
