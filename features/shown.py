"""Category values as people read them, in English or Chinese: the fixed values of the product
(lifecycle, risk band, grade, actions, RFM segments, event kinds) named in the catalogue of words
(``core/words/values.yaml``), and the levels of category features named in the feature registry
(``features/catalog.yaml``, ``levels_zh``). Values from the customer's own export (manager, team,
region, campaign ids) are shown as they are."""

from __future__ import annotations

import math

from core.lang import Lang, has_values, value_name
from features.catalog import describe, is_known, level


def has_levels(column: str) -> bool:
    """Whether the cells of ``column`` are category values that may have names in ``lang``."""
    return has_values(column) or (is_known(column) and describe(column).kind == "category")


def feature_label(name: str, lang: Lang) -> str:
    """A feature as a column header or plot label names it: its id in English, in Chinese the
    registry's sentence with ``N`` for the value (``近90天消费N次``), or its subject alone for a
    category (``地区``); a feature the registry does not describe keeps its id."""
    if lang == "en" or not is_known(name):
        return name
    info = describe(name)
    template = info.template_zh
    for colon in ("：{value}", ":{value}", "：{value}。"):
        if template.endswith(colon):
            return template[: -len(colon)]
    return template.replace("{value}", "N")


def category(column: str, value: object, lang: Lang) -> str:
    """A category value of ``column`` as shown in ``lang``; None is empty, unknown values are
    shown as they are; a missing value (None, NaN, NA) is empty."""
    if (
        value is None
        or type(value).__name__ == "NAType"
        or (isinstance(value, float) and math.isnan(value))
    ):
        return ""
    shown = str(value)
    named = value_name(column, shown, lang)
    if named is not None:
        return named
    if lang != "en" and is_known(column) and describe(column).kind == "category":
        return level(column, shown, lang)
    return shown
