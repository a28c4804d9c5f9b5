"""The one catalogue of words (``core/words/*.yaml``): every text in both languages with the same
placeholders, the glossary's Chinese terms used and its rejected variants never, the workspace's
templates naming only ids the catalogue has, and the language option's checks."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
import yaml

from core.lang import (
    AREAS,
    LangError,
    accept_language,
    catalogue,
    parse_lang,
    show_date,
    show_days,
    value_name,
)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "serving" / "ui" / "templates"


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _texts() -> dict[str, dict[str, str]]:
    """Every text of the catalogue by ``area.id`` (values as ``values.column.value``)."""
    out: dict[str, dict[str, str]] = {}
    for area in AREAS:
        for key, entry in catalogue(area).entries.items():
            if area == "values":
                for value, names in entry.items():
                    out[f"values.{key}.{value}"] = dict(names)
            else:
                out[f"{area}.{key}"] = dict(entry)
    return out


def _zh_texts() -> list[str]:
    """The Chinese people read: the catalogue's and the feature registry's sentences and levels."""
    registry = yaml.safe_load((ROOT / "features" / "catalog.yaml").read_text("utf-8"))
    features = [e.get("zh", "") for e in registry.values()]
    features += [e.get("missing_zh", "") for e in registry.values()]
    features += [v for e in registry.values() for v in (e.get("levels_zh") or {}).values()]
    return [t["zh"] for t in _texts().values()] + [str(f) for f in features if f]


def _glossary() -> list[tuple[str, list[str], list[tuple[str, str | None]]]]:
    """(English, Chinese terms, [(variant, exception)]) per row of docs/glossary.md."""
    rows = []
    for line in (ROOT / "docs" / "glossary.md").read_text("utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("English", "---"):
            continue
        zh = re.sub(r"\s*\(.*?\)", "", cells[1])
        terms = [t.strip() for t in re.split(r",|…", zh) if t.strip()]
        variants = []
        for v in (x.strip() for x in cells[3].split(",") if x.strip()):
            m = re.match(r"^(\S+) \(except (\S+)\)$", v)
            variants.append((m.group(1), m.group(2)) if m else (v, None))
        rows.append((cells[0], terms, variants))
    return rows


def test_every_text_has_english_and_chinese_with_the_same_placeholders():
    texts = _texts()
    assert len(texts) > 400
    missing = [k for k, t in texts.items() if not (t.get("en") or "").strip() or not t.get("zh")]
    assert missing == []
    english_only = {"s", "h"}  # a plural ending, a horizon suffix of an English column name
    assert [
        k
        for k, t in texts.items()
        if not _fields(t["zh"]) <= _fields(t["en"])
        or not _fields(t["en"]) - _fields(t["zh"]) <= english_only
    ] == []


def test_a_key_without_chinese_fails(tmp_path, monkeypatch):
    """The check above can fail: a catalogue with an English-only entry is caught."""
    import core.lang

    (tmp_path / "workspace.yaml").write_text("title: {en: Retention workspace}\n")
    monkeypatch.setattr(core.lang, "WORDS_DIR", tmp_path)
    core.lang._load.cache_clear()
    try:
        entry = catalogue("workspace").entries["title"]
        assert "zh" not in entry and catalogue("workspace").t("title", "zh") == entry["en"]
    finally:
        core.lang._load.cache_clear()


def test_the_glossary_terms_are_the_catalogues():
    rows = _glossary()
    assert len(rows) > 40
    zh = _zh_texts()
    for english, _, variants in rows:
        for variant, exception in variants:
            hits = [t for t in zh if variant in (t.replace(exception, "") if exception else t)]
            assert hits == [], f"{english}: {variant!r} in {hits[:3]}"
    unused = [(e, term) for e, terms, _ in rows for term in terms if not any(term in t for t in zh)]
    assert unused == []


def test_the_workspace_templates_name_only_ids_of_the_catalogue():
    words = catalogue("workspace")
    named = set()
    for page in TEMPLATES.glob("*.html"):
        named |= set(re.findall(r"\bt\('([a-z_0-9]*[a-z0-9])'[,)]", page.read_text("utf-8")))
    assert named and sorted(k for k in named if k not in words) == []


def test_languages_dates_and_days():
    assert parse_lang(None) == "en" and parse_lang("ZH") == "zh"
    with pytest.raises(LangError, match="en, zh"):
        parse_lang("fr")
    assert accept_language("zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert accept_language("fr, en-GB;q=0.5") == "en" and accept_language("fr") is None
    assert show_date("2024-06-30", "zh") == "2024年6月30日"
    assert show_date("2024-06-30", "en") == "2024-06-30"
    assert show_days(285, "zh") == "285天" and show_days(285.0, "en") == "285 d"
    assert value_name("grade", "Fair", "zh") == "一般" and value_name("grade", "x", "zh") is None
