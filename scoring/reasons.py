"""Top-k reasons behind a churn score: the features with the largest TreeSHAP contributions, each
with its value and the feature registry's sentence in English or Chinese."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Literal

import numpy as np
import pandas as pd

from core.bundle import BIAS_COLUMN, ModelBundle
from core.errors import ChurnError
from core.lang import Lang, catalogue
from features.catalog import sentences, to_float


@dataclass(frozen=True)
class Reason:
    """One feature's part in a score: contribution in log-odds (positive raises the risk)."""

    feature: str
    value: float | str | None
    contribution: float
    sentence: str

    @property
    def direction(self) -> Literal["raises", "lowers"]:
        return "raises" if self.contribution >= 0 else "lowers"


def top_contributions(contributions: pd.DataFrame, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the positions and values of the ``k`` largest absolute contributions (bias left
    out), largest first; ties keep feature order."""
    values = contributions.drop(columns=BIAS_COLUMN, errors="ignore").to_numpy(dtype=np.float64)
    k = min(k, values.shape[1])
    order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(values, order, axis=1)


def _plain(value: object) -> float | str | None:
    """A JSON-safe feature value: text stays text, numbers are floats, missing is None."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    try:
        x = to_float(value)
    except (TypeError, ValueError):
        return str(value)
    return None if math.isnan(x) else x


def _json_values(plain: list[object]) -> list[str]:
    """Each value as JSON: one ``json.dumps`` of the whole list where the values are numbers
    (no number's JSON holds ", "), else one per value."""
    if len(plain) > 1 and all(type(u) is float for u in plain[:-1]) and plain[-1] is None:
        return [*json.dumps(plain[:-1])[1:-1].split(", "), "null"]
    return [json.dumps(u, ensure_ascii=False) for u in plain]


def _sentence(name: str, value: object, lang: Lang) -> str:
    return _sentences(name, [value], lang)[0]


def _sentences(name: str, values: list[object], lang: Lang) -> list[str]:
    try:
        return sentences(name, values, lang)
    except ChurnError:  # a feature the registry does not describe: say it plainly
        return [f"{name} = {value}" for value in values]


def _reasons(
    frame: pd.DataFrame,
    bundle: ModelBundle,
    order: np.ndarray,
    top: np.ndarray,
    lang: Lang,
    raising_only: bool = False,
    k: int | None = None,
    unique: bool = True,
) -> list[list[Reason]]:
    """The reasons at positions ``order`` (contributions ``top``) of every row, in row order;
    with ``unique`` a sentence already given in the row is left out (features that read alike
    merge into the first; ``/explain`` keeps every feature), and each row keeps at most ``k``."""
    names = np.asarray(bundle.feature_names, dtype=object)[order]
    raw = frame[list(bundle.feature_names)].to_numpy(dtype=object)
    picked = np.take_along_axis(raw, order, axis=1)
    out = []
    for row_names, row_values, row_top in zip(names, picked, top, strict=True):
        row: list[Reason] = []
        for name, value, c in zip(row_names, row_values, row_top, strict=True):
            if raising_only and c <= 0:
                continue
            text = _sentence(name, _plain(value), lang)
            if not unique or all(r.sentence != text for r in row):
                row.append(Reason(name, _plain(value), float(c), text))
        out.append(row[:k])
    return out


SPARE = 3
"""Reasons looked at per reason shown: sentences that repeat are dropped, the next ones move up."""
ORDER_BLOCK = 4096
"""Rows ranked together by :func:`raising_order`."""


def unique_left(grid: np.ndarray, k: int, carried: np.ndarray | None = None) -> np.ndarray:
    """``grid`` (rows x slots of sentences, ``""`` empty) with each sentence kept once per row,
    at its first slot, the rest moved left in order; the first ``k`` slots. Vectorised. With
    ``carried`` (a grid of the same shape), that grid's cells are kept, emptied and moved the
    same way and returned instead."""
    grid = grid.copy()
    for c in range(1, grid.shape[1]):
        seen = np.zeros(len(grid), dtype=bool)
        for d in range(c):
            seen |= grid[:, c] == grid[:, d]
        grid[seen & (grid[:, c] != ""), c] = ""
    moved = np.argsort(grid == "", axis=1, kind="stable")
    if carried is not None:
        grid = np.where(grid == "", "", carried).astype(object)
    return np.take_along_axis(grid, moved, axis=1)[:, :k]


def explain_frame(
    frame: pd.DataFrame, bundle: ModelBundle, k: int, lang: Lang
) -> list[list[Reason]]:
    """The top-``k`` reasons of every row of ``frame`` under ``bundle``, in row order."""
    order, top = top_contributions(bundle.contributions(frame), k)
    return _reasons(frame, bundle, order, top, lang, unique=False)


NO_RISK_REASON: dict[Lang, str] = {
    "en": catalogue("lists").t("no_risk_reason", "en"),
    "zh": catalogue("lists").t("no_risk_reason", "zh"),
}
"""What a retention list says for a row whose features all lower the risk."""


def raising_order(values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row of a contribution matrix (bias left out), the positions of the ``k`` largest
    contributions that raise the risk, largest first (ties keep feature order), and a mask of the
    slots that hold one (a row with fewer than ``k`` positive contributions has empty slots,
    whose positions mean nothing).

    One arg-min pass per slot (the first of equal values wins), over blocks of rows: a full sort
    of every row cost twice as much on a hundred features, and a whole-matrix temporary costs
    more in fresh memory than the passes themselves."""
    n, k = len(values), min(k, values.shape[1])
    order = np.empty((n, k), dtype=np.intp)
    keep = np.empty((n, k), dtype=bool)
    for start in range(0, n, ORDER_BLOCK):
        block = values[start : start + ORDER_BLOCK]
        falling = np.where(block > 0, -block, np.inf)
        rows = np.arange(len(block))
        for slot in range(k):
            order[start : start + len(block), slot] = pick = falling.argmin(axis=1)
            keep[start : start + len(block), slot] = falling[rows, pick] < np.inf
            falling[rows, pick] = np.inf
    return order, keep


def risk_reasons(
    frame: pd.DataFrame, bundle: ModelBundle, k: int, lang: Lang
) -> list[list[Reason]]:
    """Per row, up to ``k`` reasons that RAISE the churn risk (positive contributions), largest
    first: why a customer is at risk, never what keeps them. The one source of "reasons for risk"
    for the lists, the campaign and the report; ``/explain`` shows both directions."""
    contrib = bundle.contributions(frame)
    values = contrib.drop(columns=BIAS_COLUMN, errors="ignore").to_numpy(dtype=np.float64)
    order, keep = raising_order(values, k * SPARE)
    top = np.where(keep, np.take_along_axis(values, order, axis=1), 0.0)
    return _reasons(frame, bundle, order, top, lang, raising_only=True, k=k)


def risk_sentences(
    frame: pd.DataFrame,
    bundle: ModelBundle,
    k: int,
    lang: Lang,
    contributions: np.ndarray | None = None,
    encode: Callable[[str], str] | None = None,
) -> np.ndarray:
    """The sentences of :func:`risk_reasons` as an (rows x k) object array, ``""`` after a row's
    last reason, no sentence twice in a row; ``encode`` (e.g. ``json.dumps``) is applied to each
    distinct sentence.

    Vectorised: each sentence is built once per feature and distinct value, not once per row.
    ``contributions`` (rows x features, bias optional) are computed with the bundle when None.
    """
    names = bundle.feature_names
    if contributions is None:
        contributions = bundle.contributions(frame).to_numpy(dtype=np.float64)
    values = np.asarray(contributions, dtype=np.float64)[:, : len(names)]
    order, keep = raising_order(values, k * SPARE)
    out = np.full(order.shape, "", dtype=object)
    for j in np.unique(order[keep]):
        rows, slots = np.nonzero((order == j) & keep)
        picked = frame[names[j]].to_numpy()[rows]
        codes, uniques = pd.factorize(picked, use_na_sentinel=True)
        # code -1 (missing) reads the last entry: the feature's "no data" sentence; a float
        # column's values are already what _plain makes of them
        plain = uniques.tolist() if uniques.dtype.kind == "f" else [_plain(u) for u in uniques]
        texts = _sentences(names[j], [*plain, None], lang)
        shown = np.array([encode(t) for t in texts] if encode else texts, dtype=object)
        out[rows, slots] = shown[codes]
    return unique_left(out, k)


def unique_slots(ids: np.ndarray, k: int) -> np.ndarray:
    """Per row of ``ids`` (rows x slots of sentence ids, -1 empty), the slots to show: each id
    at its first slot only, in slot order; the first ``k``, -1 after the row's last."""
    ids = ids.copy()
    for c in range(1, ids.shape[1]):
        ids[(ids[:, :c] == ids[:, c : c + 1]).any(axis=1), c] = -1
    moved = np.argsort(ids < 0, axis=1, kind="stable")[:, :k]
    return np.where(np.take_along_axis(ids, moved, axis=1) >= 0, moved, -1)


def risk_reason_json(
    frame: pd.DataFrame,
    bundle: ModelBundle,
    k: int,
    contributions: np.ndarray | None = None,
) -> np.ndarray:
    """Per row, its risk-raising reasons as the store keeps them (its ``reasons`` column): a JSON
    list of ``{"feature", "value", "contribution"}`` objects, largest first, ``[]`` when nothing
    raises the risk. Sentences are made when the list is read, in the reader's language
    (:func:`reason_sentences`); here they only merge features that read alike.

    Vectorised: the cells of each feature are gathered with one sort, a sentence and a JSON head
    are made once per feature and distinct value, and only the cells shown are formatted."""
    if not len(frame):
        return np.empty(0, dtype=object)
    names = bundle.feature_names
    if contributions is None:
        contributions = bundle.contributions(frame).to_numpy(dtype=np.float64)
    values = np.asarray(contributions, dtype=np.float64)[:, : len(names)]
    order, keep = raising_order(values, k * SPARE)
    cells = np.flatnonzero(keep)
    features = order.ravel()[cells]
    by_feature = np.argsort(features, kind="stable")
    cells, features = cells[by_feature], features[by_feature]
    starts = np.flatnonzero(np.r_[True, features[1:] != features[:-1]])
    used = frame[[names[j] for j in features[starts]]]
    used.attrs = {}  # a column read copies the frame's attrs; nothing here needs them
    ids = np.full(order.size, -1, dtype=np.int64)
    heads = np.empty(order.size, dtype=object)
    sentence_ids: dict[str, int] = {}
    for start, stop in zip(starts, [*starts[1:], len(cells)], strict=True):
        name, at = names[features[start]], cells[start:stop]
        codes, uniques = pd.factorize(used[name].to_numpy()[at // order.shape[1]])
        plain = uniques.tolist() if uniques.dtype.kind == "f" else [_plain(u) for u in uniques]
        plain.append(None)  # code -1 (missing) reads the last entry
        texts = _sentences(name, plain, "en")
        ids[at] = np.array([sentence_ids.setdefault(t, len(sentence_ids)) for t in texts])[codes]
        head = f'{{"feature": {_json_text(name)}, "value": '
        heads[at] = np.array(
            [f'{head}{v}, "contribution": ' for v in _json_values(plain)], dtype=object
        )[codes]
    slots = unique_slots(ids.reshape(order.shape), k)
    shown = slots >= 0  # each row's shown slots come first
    flat = (np.arange(len(order))[:, None] * order.shape[1] + slots)[shown]
    amounts = np.take_along_axis(values, order, axis=1).ravel()[flat]
    objects = [f"{h}{a:.4f}}}" for h, a in zip(heads[flat].tolist(), amounts.tolist(), strict=True)]
    ends = np.cumsum(shown.sum(axis=1)).tolist()
    out = np.empty(len(order), dtype=object)
    out[:] = [f"[{', '.join(objects[a:b])}]" for a, b in zip([0, *ends[:-1]], ends, strict=True)]
    return out


def reason_sentences(
    stored: object,
    lang: Lang,
    k: int | None = None,
    said: dict[tuple[str, object], str] | None = None,
) -> list[str]:
    """A stored ``reasons`` cell (JSON text or a list) as sentences in ``lang``: each
    ``{"feature", "value"}`` object read through the feature registry, a sentence stored by an
    older scoring as it is, no sentence twice; an empty list says that nothing raises the risk.
    ``said`` keeps the sentences made in ``lang``, by feature and value, for the next cells."""
    items = json.loads(stored) if isinstance(stored, str) and stored else stored
    said = {} if said is None else said
    for item in items if isinstance(items, list | tuple) else ():
        if isinstance(item, dict) and "feature" in item:
            key = (str(item["feature"]), item.get("value"))
            if key not in said:
                said[key] = _sentence(*key, lang)
    return _read(items, said, lang, k)


def cells_sentences(cells: Sequence[object], lang: Lang, k: int | None = None) -> list[list[str]]:
    """:func:`reason_sentences` of every cell of a list: the JSON read in one parse, and each
    feature's sentences made in one call for all its values (a list reads tens of thousands)."""
    texts = [c for c in cells if isinstance(c, str) and c]
    try:
        parsed = json.loads("[" + ",".join(texts) + "]")
        if len(parsed) != len(texts):
            raise ValueError("a cell held more than one JSON value")
    except ValueError:
        parsed = [json.loads(t) for t in texts]
    read = iter(parsed)
    rows = [next(read) if isinstance(c, str) and c else c for c in cells]
    values: dict[str, dict[object, None]] = {}  # first seen first, as reason_sentences meets them
    for items in rows:
        for item in items if isinstance(items, list | tuple) else ():
            if isinstance(item, dict) and "feature" in item:
                values.setdefault(str(item["feature"]), {}).setdefault(item.get("value"))
    said: dict[tuple[str, object], str] = {}
    for name, seen in values.items():
        said |= zip(((name, v) for v in seen), _sentences(name, list(seen), lang), strict=True)
    return [_read(items, said, lang, k) for items in rows]


def _read(
    items: object, said: dict[tuple[str, object], str], lang: Lang, k: int | None
) -> list[str]:
    """One parsed cell's sentences, ``said`` holding those of its features' values."""
    if not isinstance(items, list | tuple):
        return []
    out: list[str] = []
    for item in items:
        if isinstance(item, dict) and "feature" in item:
            text = said[(str(item["feature"]), item.get("value"))]
        else:
            text = str(item)
        if text not in out:
            out.append(text)
    return out[:k] if out else [NO_RISK_REASON[lang]]


_json_text: Callable[[str], str] = encode_basestring
"""A string as JSON, as ``json.dumps(text, ensure_ascii=False)`` writes it (its own encoder)."""


def risk_reason_columns(
    frame: pd.DataFrame, bundle: ModelBundle, k: int, lang: Lang
) -> pd.DataFrame:
    """``reason_1`` .. ``reason_k`` of every row (same index): the risk-raising sentences, empty
    after the last one; a row with none says so in ``reason_1``."""
    cells = risk_sentences(frame, bundle, k, lang) if len(frame) else np.empty((0, k), object)
    cells = np.hstack([cells, np.full((len(cells), k - cells.shape[1]), "", dtype=object)])
    out = pd.DataFrame(cells, columns=[f"reason_{i}" for i in range(1, k + 1)], index=frame.index)
    out.loc[out["reason_1"] == "", "reason_1"] = NO_RISK_REASON[lang]
    return out.astype(object)


def risk_reason_text(frame: pd.DataFrame, bundle: ModelBundle, k: int, lang: Lang) -> list[str]:
    """Per row, the ``k`` largest risk-raising reasons joined by "; " (campaign lists)."""
    if not len(frame):
        return []
    grid = risk_sentences(frame, bundle, k, lang)
    return ["; ".join(t for t in row if t) or NO_RISK_REASON[lang] for row in grid]
