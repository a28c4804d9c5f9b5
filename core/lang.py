"""The languages the product speaks to people in (English and Simplified Chinese) and its one
catalogue of words: ``core/words/*.yaml``, one file per area (``workspace``, ``report``, ``lists``,
``monitor``, ``cli``, ``api``, ``values``, ``data``, ``notes``: what the library says, see
``core.notes``), every entry an id with its ``en`` and ``zh`` text.

Code names a text by its id and the language it speaks (``catalogue("workspace").t("title",
"zh")``); no module keeps a table of its own. ``values.yaml`` names the fixed values people read
(lifecycle, risk band, grade, the default recommended actions, campaign rules, event kinds) by
column. Only the standard library and PyYAML: the CLI imports this while commands register.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Literal, cast, get_args

from core.yamlfile import safe_load

Lang = Literal["en", "zh"]
LANGS: tuple[str, ...] = get_args(Lang)
LANG_ENV = "CHURN_LANG"
"""The environment variable that sets the default language of every command."""
WORDS_DIR = Path(__file__).parent / "words"
AREAS = ("workspace", "report", "lists", "monitor", "cli", "api", "values", "data", "notes")
"""The catalogue's files of texts (``values`` is keyed by column, then value)."""


class LangError(ValueError):
    """A language the product does not speak."""


def parse_lang(value: str | None, default: Lang = "en") -> Lang:
    """``value`` as a language; None or empty gives ``default``; another value is an error that
    lists the supported ones."""
    if value is None or value == "":
        return default
    shown = value.strip().lower()
    if shown not in LANGS:
        raise LangError(f"unknown language {value!r}: use one of {', '.join(LANGS)}")
    return cast(Lang, shown)


def default_lang() -> Lang:
    """The language of ``$CHURN_LANG`` (English when unset)."""
    return parse_lang(os.environ.get(LANG_ENV))


def accept_language(header: str | None) -> Lang | None:
    """The first supported language of an HTTP ``Accept-Language`` header (``zh-CN`` is zh)."""
    for part in (header or "").split(","):
        tag = part.split(";")[0].strip().lower()
        for lang in LANGS:
            if tag == lang or tag.startswith(f"{lang}-"):
                return cast(Lang, lang)
    return None


@cache
def _load(area: str) -> dict[str, dict[str, object]]:
    path = WORDS_DIR / f"{area}.yaml"
    with path.open(encoding="utf-8") as f:
        loaded = safe_load(f) or {}
    if not isinstance(loaded, dict):
        raise LangError(f"{path.name}: expected a mapping of ids")
    return loaded


class Words:
    """One area of the catalogue."""

    def __init__(self, area: str) -> None:
        self.area = area

    @property
    def entries(self) -> Mapping[str, Mapping[str, str]]:
        """Every id of the area with its texts by language."""
        return cast(Mapping[str, Mapping[str, str]], _load(self.area))

    def __contains__(self, key: str) -> bool:
        return key in self.entries

    def t(self, key: str, lang: Lang = "en", **values: object) -> str:
        """The text ``key`` in ``lang``, formatted with ``values`` (``{name}`` placeholders)."""
        entry = self.entries[key]
        text = entry.get(lang) or entry["en"]
        return text.format(**values) if values else text


@cache
def catalogue(area: str) -> Words:
    """The area ``area`` of the catalogue (an unknown area is an error)."""
    if area not in AREAS:
        raise LangError(f"no area {area!r} in the catalogue: {', '.join(AREAS)}")
    return Words(area)


def value_name(column: str, value: object, lang: Lang) -> str | None:
    """The name in ``lang`` of a fixed value of ``column`` (``values.yaml``), None when the
    catalogue does not name it."""
    entry = cast(dict[str, dict[str, dict[str, str]]], _load("values")).get(column, {})
    found = entry.get(str(value))
    return None if found is None else found.get(lang) or found["en"]


def has_values(column: str) -> bool:
    """Whether ``values.yaml`` names the values of ``column``."""
    return column in _load("values")


def show_date(day: date | datetime | str | None, lang: Lang) -> str:
    """A date as people read it: ``2024-06-30`` in English, ``2024年6月30日`` in Chinese."""
    if day is None or day == "":
        return ""
    if isinstance(day, str):
        try:
            shown = date.fromisoformat(day[:10])
        except ValueError:
            return day
    else:
        shown = day
    if lang == "zh":
        return f"{shown.year}年{shown.month}月{shown.day}日"
    return f"{shown:%Y-%m-%d}"


def show_days(days: int | float, lang: Lang) -> str:
    """A number of days: ``285 d`` in English, ``285天`` in Chinese."""
    n = int(days)
    return f"{n}天" if lang == "zh" else f"{n} d"
