"""The report's and its plots' words in ``lang``, from the one catalogue of words
(``core/words/report.yaml`` by id; category values through :mod:`features.shown`), and a CJK font
for matplotlib so that Chinese labels draw.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from core.lang import Lang, catalogue
from features.shown import category, has_levels

__all__ = ["category", "has_levels", "plot_language", "shap_label", "tr"]

CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Droid Sans Fallback",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Heiti SC",
)
"""Fonts with Chinese glyphs, preferred first."""
SHAP_LABELS = {"Feature value": "shap_feature_value", "High": "shap_high", "Low": "shap_low"}
"""The texts SHAP's own plots draw, with their ids in the catalogue."""
_OTHER = re.compile(r"^(Sum of )?(\d+) other features$")


def tr(key: str, lang: Lang) -> str:
    """The report's text ``key`` (``core/words/report.yaml``) in ``lang``."""
    return catalogue("report").t(key, lang)


@cache
def cjk_font() -> str | None:
    """The family of an installed font with Chinese glyphs, None when there is none.

    Matplotlib caches its font list when first imported, so a font installed afterwards (by
    ``scripts/ensure_fonts.sh``) is added from the system's font files here."""
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    found = next((f for f in CJK_FAMILIES if f in known), None)
    if found is not None:
        return found
    listed = {f.fname for f in font_manager.fontManager.ttflist}
    for path in font_manager.findSystemFonts():
        if path not in listed and re.search(r"cjk|wqy|wenquanyi|droidsansfallback|sourcehan",
                                            Path(path).name, re.IGNORECASE):  # fmt: skip
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue
    known = {f.name for f in font_manager.fontManager.ttflist}
    return next((f for f in CJK_FAMILIES if f in known), None)


@contextmanager
def plot_language(lang: Lang) -> Iterator[None]:
    """Matplotlib settings for the figures created inside: for ``zh`` a CJK font after the
    default one (matplotlib falls back to it glyph by glyph), or a warning saying how to install
    one. Texts keep the font chosen when they are created, so saving may happen later."""
    import matplotlib as mpl

    if lang == "en":
        yield
        return
    font = cjk_font()
    if font is None:
        warnings.warn(tr("note_no_font", "en"), UserWarning, stacklevel=3)
        yield
        return
    with mpl.rc_context({"font.family": [*mpl.rcParams["font.family"], font]}):
        yield


def shap_label(label: str, lang: Lang) -> str:
    """A text SHAP's own plots draw (colour bar, "N other features") in ``lang``."""
    m = _OTHER.match(label)
    if m is None:
        return tr(SHAP_LABELS[label], lang) if label in SHAP_LABELS else label
    return tr("shap_sum_other" if m.group(1) else "shap_other", lang).format(n=m.group(2))
