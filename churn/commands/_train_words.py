"""What ``churn train`` says after training, in the language asked: the chosen churn candidate
against plain LightGBM and the best reference (``training.selection.Selection.sentence``), and
the value model against its references (``training.value_refs.references_line``). English is
those functions' own sentence; Chinese is said here from the same figures, with the catalogue's
words (``core/words/cli.yaml``, scorer names in ``values.yaml``)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from core.lang import Lang, catalogue, show_date, value_name

if TYPE_CHECKING:
    from training.fit import Trained
    from training.selection import Selection

t = catalogue("cli").t


def _scorer(name: str, lang: Lang) -> str:
    return value_name("scorer", name, lang) or name


def selection_line(selection: Selection, registered: bool | None, lang: Lang) -> str:
    """The chosen candidate against plain LightGBM and the best reference, and whether it was
    registered as the champion."""
    if lang == "en":
        return selection.sentence(registered)
    n = selection.auc.shape[1]
    chosen, ref = selection.chosen, selection.best_reference
    c_auc, r_auc = selection.mean_auc(chosen), selection.mean_auc(ref)
    words = [t("sel_chosen", lang, name=_scorer(chosen, lang))]
    if chosen != "lightgbm" and "lightgbm" in selection.auc.index:
        d = c_auc - selection.mean_auc("lightgbm")
        verb = t("sel_higher" if d > 0 else "sel_lower", lang)
        words.append(t("sel_vs_plain", lang, verb=verb, d=abs(d), n=n))
    lo, hi = selection.intervals.get(ref, (math.nan, math.nan, math.nan))[1:]
    ci = t("sel_ci", lang, lo=lo, hi=hi) if math.isfinite(lo) else ""
    shown = {"ref": _scorer(ref, lang), "c": c_auc, "r": r_auc, "ci": ci}
    if selection.reaches:
        verb = t("sel_higher" if c_auc > r_auc else "sel_equal", lang)
        words.append(t("sel_vs_ref", lang, verb=verb, **shown))
    else:
        words.append(t("sel_no_ref", lang, **shown))
    text = words[0] + t("sel_and", lang) + t("sel_and", lang).join(words[1:])
    if registered is not None:
        text += t("sel_registered" if registered else "sel_challenger", lang)
    return text


def references_text(trained: Trained, lang: Lang) -> str:
    """The value model against the references on the test cutoff (mean absolute error)."""
    from training.value_refs import references_line

    if lang == "en":
        return references_line(trained)
    refs: Any = trained.value.metadata.get("value_references")
    if not isinstance(refs, dict) or refs["mae"].get("model") is None:
        return t("refs_none", lang)
    mae = refs["mae"]
    others = "，".join(
        f"{_scorer(k, lang)} {v:,.2f}" for k, v in mae.items() if k != "model" and v is not None
    )
    verdict = t("refs_beats" if refs["beats_references"] else "refs_not", lang)
    return t("refs_line", lang, verdict=verdict, cutoff=show_date(str(refs["cutoff"]), lang), rows=refs["rows"],
             mae=mae["model"], others=others)  # fmt: skip
