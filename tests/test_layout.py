"""The layout's rules that import-linter cannot check: module size, one Lang, one store schema."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "core",
    "features",
    "training",
    "scoring",
    "kpi",
    "monitoring",
    "serving",
    "reports",
    "churn",
)
MAX_LINES = 600


def _modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def test_no_product_module_is_over_600_lines():
    long = {
        str(p.relative_to(ROOT)): n
        for p in _modules()
        if (n := len(p.read_text("utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_lang_is_defined_once():
    defined = [
        str(p.relative_to(ROOT))
        for p in _modules()
        if re.search(r"^Lang\s*=", p.read_text("utf-8"), re.M)
    ]
    assert defined == ["core/lang.py"]


def test_the_store_has_one_module_level_metadata():
    found = [
        str(p.relative_to(ROOT))
        for p in _modules()
        if re.search(r"^\w+\s*=\s*(sa\.)?MetaData\(", p.read_text("utf-8"), re.M)
    ]
    assert found == ["scoring/store/schema.py"]


def test_the_service_object_is_typed():
    untyped = [
        str(p.relative_to(ROOT))
        for p in _modules()
        if re.search(r"\bsvc\s*:\s*Any\b", p.read_text("utf-8"))
    ]
    assert untyped == []
