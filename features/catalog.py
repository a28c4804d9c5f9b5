"""The feature registry: group, description and English/Chinese sentence of every feature.

The texts live in ``catalog.yaml`` beside this module. Window-specific names
(``txn_count_90d``, ``int_call_inbound_30d``) come from patterns, so any ``windows_days``
configuration is covered. Explanations (SHAP reasons, at-risk lists) turn a
feature and its value into a sentence with :func:`sentence`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal, SupportsFloat, SupportsIndex

from core.config import Frozen, load_yaml
from core.lang import Lang
from features.contract import CHANNELS, DIRECTIONS
from features.pipeline.cutoffs import FeatureError

Group = Literal["rfm", "interaction", "complaint", "profile"]
Kind = Literal["count", "money", "days", "ratio", "share", "score", "category"]

CHANNEL_WORDS = {
    "call": ("call", "电话"),
    "email": ("email", "邮件"),
    "chat": ("chat", "在线聊天"),
    "visit": ("visit", "上门拜访"),
    "app_login": ("app login", "应用登录"),
    "campaign": ("campaign", "营销触达"),
}
DIRECTION_WORDS = {"inbound": ("inbound", "客户发起的"), "outbound": ("outbound", "公司发起的")}


REGISTRY_FILE = Path(__file__).with_name("catalog.yaml")


class Pattern(Frozen):
    """A feature name pattern and its texts (one entry of ``catalog.yaml``)."""

    pattern: str
    group: Group
    kind: Kind
    description: str
    en: str
    zh: str
    missing_en: str = "No data for this feature"
    missing_zh: str = "无数据"
    levels_zh: dict[str, str] = {}
    """Chinese names of a category's levels; a level not listed is shown as it is."""


@dataclass(frozen=True)
class FeatureInfo:
    """One concrete feature: templates hold ``{value}`` (and ``{s}``, an English plural)."""

    name: str
    group: Group
    kind: Kind
    description: str
    template_en: str
    template_zh: str
    missing_en: str
    missing_zh: str
    levels_zh: Mapping[str, str] = field(default_factory=dict)


@cache
def patterns() -> tuple[Pattern, ...]:
    """Every pattern of the registry file, in its order (read once)."""
    entries = load_yaml(REGISTRY_FILE)
    return tuple(Pattern(pattern=name, **fields) for name, fields in entries.items())


_SLOTS = {
    "w": r"(?P<w>\d+)",
    "a": r"(?P<a>\d+)",
    "b": r"(?P<b>\d+)",
    "channel": "(?P<channel>" + "|".join(CHANNELS) + ")",
    "direction": "(?P<direction>" + "|".join(DIRECTIONS) + ")",
}


def _slot(m: re.Match[str]) -> str:
    return _SLOTS[m.group(1)]


@cache
def _compiled() -> tuple[tuple[re.Pattern[str], Pattern], ...]:
    out = []
    for p in patterns():
        regex = re.sub(r"\{(\w+)\}", _slot, p.pattern)
        out.append((re.compile(f"^{regex}$"), p))
    return tuple(out)


def _fill(text: str, params: dict[str, str], lang: int) -> str:
    words = dict(params)
    if "channel" in params:
        words["channel"] = CHANNEL_WORDS[params["channel"]][lang]
    if "direction" in params:
        words["direction"] = DIRECTION_WORDS[params["direction"]][lang]
    out = re.sub(r"\{(w|a|b|channel|direction)\}", lambda m: words[m.group(1)], text)
    return out[:1].upper() + out[1:] if lang == 0 and not out.startswith("{") else out


@cache
def describe(name: str) -> FeatureInfo:
    """The registry entry of a feature column; unknown names are an error. Cached: reasons
    describe the same few dozen features for every scored customer."""
    for regex, p in _compiled():
        m = regex.match(name)
        if m:
            params = m.groupdict()
            return FeatureInfo(
                name=name,
                group=p.group,
                kind=p.kind,
                description=_fill(p.description, params, 0),
                template_en=_fill(p.en, params, 0),
                template_zh=_fill(p.zh, params, 1),
                missing_en=_fill(p.missing_en, params, 0),
                missing_zh=_fill(p.missing_zh, params, 1),
                levels_zh=p.levels_zh,
            )
    raise FeatureError(f"unknown feature {name!r}: not in the feature registry")


def is_known(name: str) -> bool:
    """Whether the registry describes ``name``."""
    return any(regex.match(name) for regex, _ in _compiled())


def to_float(value: object) -> float:
    """``float(value)`` for a value of any type: TypeError where ``float`` has no conversion."""
    if isinstance(value, float | int):  # the common case, before the slow protocol checks
        return float(value)
    if isinstance(value, str | bytes | bytearray | memoryview | SupportsFloat | SupportsIndex):
        return float(value)
    raise TypeError(
        f"float() argument must be a string or a real number, not {type(value).__name__!r}"
    )


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(math.isnan(to_float(value)))
    except (TypeError, ValueError):
        return False


_FLOAT_FORMATS: dict[str, str] = {"money": ",.2f", "share": ".0%", "ratio": ".2f", "days": ".0f"}
"""How a number of each kind is shown, where the format does not depend on the value."""


def format_value(kind: Kind, value: object) -> str:
    """A feature value as shown in a sentence."""
    if kind == "category":
        return str(value)
    x = to_float(value)
    spec = _FLOAT_FORMATS.get(kind)
    if spec:
        return format(x, spec)
    return f"{x:.0f}" if x.is_integer() else f"{x:.1f}"


def level(name: str, value: object, lang: Lang = "en") -> str:
    """A level of the category feature ``name`` as shown in ``lang``: its Chinese name from the
    registry for ``zh`` where one is listed, else the level itself."""
    shown = str(value)
    return describe(name).levels_zh.get(shown, shown) if lang == "zh" else shown


def sentence(name: str, value: object, lang: Lang = "en") -> str:
    """The human-readable sentence for a feature's value, in English (``en``) or Chinese (``zh``)."""
    return sentences(name, [value], lang)[0]


def sentences(name: str, values: Iterable[object], lang: Lang = "en") -> list[str]:
    """:func:`sentence` of each of one feature's values, the registry read once (stored reasons
    make one per distinct value of every feature shown)."""
    if lang not in ("en", "zh"):
        raise FeatureError(f"unknown language {lang!r}: use 'en' or 'zh'")
    info = describe(name)
    missing = info.missing_en if lang == "en" else info.missing_zh
    spec = _FLOAT_FORMATS.get(info.kind)
    out = []
    for value in values:
        if type(value) is float:  # the common case: a number, missing when NaN
            if value != value:
                out.append(missing)
                continue
            shown = format(value, spec) if spec else format_value(info.kind, value)
        elif _is_missing(value) and not (info.kind == "category" and isinstance(value, str)):
            out.append(missing)
            continue
        else:
            shown = format_value(info.kind, value)
        if lang == "zh":
            shown = info.levels_zh.get(shown, shown) if info.kind == "category" else shown
            out.append(info.template_zh.replace("{value}", shown))
        else:
            plural = "" if shown == "1" else "s"
            out.append(info.template_en.replace("{value}", shown).replace("{s}", plural))
    return out
