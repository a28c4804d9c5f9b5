"""The model bundle: the only contract between training (which writes it) and serving (which reads it).

A bundle is a LightGBM booster saved as LightGBM's native model text (never a pickle) plus a JSON
file with the feature names, the levels of each categorical feature, the churn calibrator's
isotonic thresholds and the metadata (label definition, contract version, training window,
metrics). ``matrix`` turns a feature frame into exactly what the booster was trained on, so
training and serving cannot encode a customer differently.

Layout of a saved bundle directory::

    model.txt     LightGBM model text (Booster.model_to_string)
    bundle.json   {"format": 1, "kind", "feature_names", "categories", "calibrator", "metadata"}
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from core.errors import ChurnError
from core.linear import LinearTerms

if TYPE_CHECKING:
    import lightgbm as lgb

BUNDLE_FORMAT = 1
MODEL_FILE = "model.txt"
META_FILE = "bundle.json"
ARTIFACT_KEY = "bundle"  # key of the bundle directory in the logged pyfunc model's artifacts
BIAS_COLUMN = "bias"
PARALLEL_ROWS = 20_000
"""Batches of at least this many rows are scored with every OpenMP thread; smaller ones with one
(waking idle OpenMP threads costs milliseconds, more than a small batch takes to score)."""
SOURCE_KEY = "source"
"""Metadata of a bundle trained on a source file (snapshot mode): ``columns`` maps each feature to
the file's column, ``id_column`` names the file's customer id, ``merge_levels`` the level spellings
merged per categorical feature; :meth:`ModelBundle.from_source` applies them."""

Kind = Literal["churn", "value"]


class BundleError(ChurnError):
    """A bundle cannot be read, or a frame cannot be scored by it (names the column and why)."""


@dataclass(frozen=True)
class Calibrator:
    """Monotone map from raw to calibrated probability: isotonic thresholds applied with np.interp.

    Empty thresholds mean identity (the value model, or an uncalibrated churn model).
    """

    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y):
            raise BundleError("calibrator: x and y thresholds differ in length")
        if any(b < a for a, b in zip(self.x, self.x[1:], strict=False)):
            raise BundleError("calibrator: x thresholds must be increasing")

    @property
    def is_identity(self) -> bool:
        return not self.x

    @cached_property
    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.x, dtype=np.float64), np.asarray(self.y, dtype=np.float64)

    def apply(self, p: np.ndarray) -> np.ndarray:
        """Calibrated values; inputs outside the fitted range take the end values (clip)."""
        p = np.asarray(p, dtype=np.float64)
        if self.is_identity:
            return p
        x, y = self._arrays
        return np.interp(p, x, y)

    def to_dict(self) -> dict[str, list[float]]:
        return {"x": list(self.x), "y": list(self.y)}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Calibrator:
        d = d or {}
        return cls(tuple(float(v) for v in d.get("x", ())), tuple(float(v) for v in d.get("y", ())))


TIE_BREAK = 1e-6
"""How far (a share of the calibrated range) :func:`keep_ranking` may move a probability."""


def keep_ranking(calibrator: Calibrator, raw: np.ndarray) -> np.ndarray:
    """Calibrated probabilities that keep the raw model's order where the calibration is flat.

    An isotonic map ends in plateaus and its outputs are bounded (``min_probability``), so every
    customer below the lowest block, often most of a loyal book, gets one probability and the
    list and ROC-AUC lose the model's ranking among them (0.0016 of ROC-AUC on a real holdout).
    A share :data:`TIE_BREAK` of the calibrated range follows the raw score: probabilities move
    by less than a millionth and stay within the calibrator's own bounds.
    """
    p = calibrator.apply(raw)
    if calibrator.is_identity:
        return p
    low, high = min(calibrator.y), max(calibrator.y)
    order = 0.5 + np.arctan(np.asarray(raw, dtype=np.float64)) / np.pi  # increasing, in (0, 1)
    return low + (p - low) * (1.0 - TIE_BREAK) + TIE_BREAK * (high - low) * order


@dataclass(frozen=True, eq=False)
class ModelBundle:
    """A trained churn or value model with everything needed to score a feature frame.

    ``categories`` lists the levels of each categorical feature, in code order; a level the
    model never saw is scored as missing (``unknown_levels`` lists them so an API can refuse).
    """

    kind: Kind
    booster: lgb.Booster
    feature_names: tuple[str, ...]
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)
    calibrator: Calibrator = Calibrator()
    metadata: dict[str, Any] = field(default_factory=dict)
    linear: LinearTerms | None = None
    """Exact linear terms added to the booster's raw score (a churn booster boosted from a
    logistic regression's score, :mod:`core.linear`); None for a plain booster."""

    def __post_init__(self) -> None:
        if self.kind not in ("churn", "value"):
            raise BundleError(f"bundle kind must be 'churn' or 'value', got {self.kind!r}")
        if list(self.booster.feature_name()) != list(self.feature_names):
            raise BundleError("bundle feature_names do not match the booster's feature names")
        extra = set(self.categories) - set(self.feature_names)
        if extra:
            raise BundleError(f"categories given for non-features: {sorted(extra)}")

    # ---- encoding ---------------------------------------------------------------------------

    @property
    def categorical_features(self) -> tuple[str, ...]:
        return tuple(f for f in self.feature_names if f in self.categories)

    def check_columns(self, frame: pd.DataFrame) -> None:
        """Raise BundleError naming the feature columns the frame lacks."""
        check_columns(frame, self.feature_names)

    def unknown_levels(self, frame: pd.DataFrame) -> dict[str, list[str]]:
        """Per categorical feature, the sorted non-missing values the model has never seen."""
        out: dict[str, list[str]] = {}
        for col in self.categorical_features:
            if col not in frame.columns:
                continue
            values = pd.Series(frame[col], copy=False).dropna().astype(object).astype(str)
            unseen = sorted(set(values.unique()) - set(self.categories[col]))
            if unseen:
                out[col] = unseen
        return out

    def matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The booster's input: float64 columns in ``feature_names`` order.

        Categorical features become float codes of their level in ``categories`` (NaN when
        missing or unknown); numeric features are float64. Extra columns are ignored.
        """
        return encode_features(frame, self.feature_names, self.categories)

    # ---- scoring ----------------------------------------------------------------------------

    def encoded(self, frame: pd.DataFrame) -> np.ndarray:
        """:meth:`matrix` as a column-major ndarray (what the booster reads; no frame)."""
        return encode_matrix(frame, self.feature_names, self.categories)

    @cached_property
    def encoder(self) -> RecordEncoder:
        """Encodes JSON-like records straight to the booster's matrix (the API's path)."""
        return RecordEncoder(self.feature_names, self.categories)

    def raw_predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Booster output before calibration (P(churn) or expected value)."""
        return self.raw_predict_matrix(self.encoded(frame))

    def raw_predict_matrix(self, x: np.ndarray) -> np.ndarray:
        """Booster output for an encoded matrix (:meth:`matrix` or :attr:`encoder`), with one
        OpenMP thread for small batches and all of them for large ones."""
        threads = 0 if len(x) >= PARALLEL_ROWS else 1
        if self.linear is None:
            return np.asarray(self.booster.predict(x, num_threads=threads), dtype=np.float64)
        raw = self.booster.predict(x, raw_score=True, num_threads=threads)
        margin = np.asarray(raw, dtype=np.float64) + self.linear.score(x, self.feature_names)
        return 1.0 / (1.0 + np.exp(-margin))  # the linear part is a churn model's log-odds

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated P(churn) for a churn bundle; expected value (>= 0) for a value bundle,
        capped by the customer's own history when the bundle records a ``value_cap``."""
        return self.predict_matrix(self.encoded(frame))

    def predict_matrix(self, x: np.ndarray) -> np.ndarray:
        """:meth:`predict` for an encoded matrix."""
        out = self.finish(self.raw_predict_matrix(x))
        return out if self.kind == "churn" else np.minimum(out, self.value_cap(x))

    def value_cap(self, x: np.ndarray) -> np.ndarray | float:
        """The most a value bundle predicts for each row: ``multiple`` x the customer's own
        history, the larger of one average order and the longest window's revenue scaled to the
        horizon (metadata ``value_cap``: multiple, horizon_days, window_days, window_column,
        order_column). No cap (inf) without it, or for a row with no purchase history."""
        cap = self.metadata.get("value_cap")
        names = self.feature_names
        if not isinstance(cap, dict) or not {cap["window_column"], cap["order_column"]} <= set(
            names
        ):
            return np.inf
        window = x[:, names.index(cap["window_column"])].astype(np.float64)
        order = x[:, names.index(cap["order_column"])].astype(np.float64)
        history = np.fmax(window * (cap["horizon_days"] / cap["window_days"]), order)
        limit = cap["multiple"] * history
        return np.where(np.isfinite(limit) & (limit > 0), limit, np.inf)

    def finish(self, raw: np.ndarray) -> np.ndarray:
        """Raw booster output as the bundle's prediction: calibrated and clipped to [0, 1] for
        churn, calibrated (when the bundle has a calibrator) and clipped at 0 for value."""
        if self.kind == "churn":
            return np.clip(keep_ranking(self.calibrator, raw), 0.0, 1.0)
        return np.clip(self.calibrator.apply(raw), 0.0, None)

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """TreeSHAP contributions per feature plus ``bias``, in raw-score units.

        Raw score is log-odds for churn (before calibration) and log of expected value for the
        value model; each row sums to the raw score.
        """
        threads = 0 if len(frame) >= PARALLEL_ROWS else 1
        contrib = np.asarray(
            self.booster.predict(self.encoded(frame), pred_contrib=True, num_threads=threads),
            dtype=np.float64,
        )
        contrib += self.linear_contributions(self.encoded(frame))
        return pd.DataFrame(contrib, index=frame.index, columns=[*self.feature_names, BIAS_COLUMN])

    def linear_contributions(self, x: np.ndarray) -> np.ndarray | float:
        """The linear part's exact terms per feature plus its intercept as ``bias`` (0 without
        one): added to the trees' TreeSHAP values, each row still sums to the raw score."""
        if self.linear is None:
            return 0.0
        terms = self.linear.terms(x, self.feature_names)
        return np.c_[terms, np.full(len(terms), self.linear.intercept)]

    # ---- persistence ------------------------------------------------------------------------

    def save(self, directory: str | Path) -> Path:
        """Write ``model.txt`` and ``bundle.json`` into directory (created); returns it."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        (d / MODEL_FILE).write_text(self.booster.model_to_string(), encoding="utf-8")
        meta = {
            "format": BUNDLE_FORMAT,
            "kind": self.kind,
            "feature_names": list(self.feature_names),
            "categories": {k: list(v) for k, v in self.categories.items()},
            "calibrator": self.calibrator.to_dict(),
            "metadata": jsonable(self.metadata),
        }
        if self.linear is not None:
            meta["linear"] = self.linear.to_dict()
        (d / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")
        return d

    @classmethod
    def load(cls, directory: str | Path) -> ModelBundle:
        """Read a bundle written by :meth:`save`; BundleError names what is missing or wrong."""
        d = Path(directory)
        for name in (MODEL_FILE, META_FILE):
            if not (d / name).is_file():
                raise BundleError(f"{d}: not a model bundle ({name} is missing)")
        try:
            meta = json.loads((d / META_FILE).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise BundleError(f"{d / META_FILE}: invalid JSON ({exc})") from exc
        if meta.get("format") != BUNDLE_FORMAT:
            raise BundleError(f"{d}: bundle format {meta.get('format')!r} is not {BUNDLE_FORMAT}")
        import lightgbm as lgb

        booster = lgb.Booster(model_str=(d / MODEL_FILE).read_text(encoding="utf-8"))
        return cls(
            kind=meta["kind"],
            booster=booster,
            feature_names=tuple(meta["feature_names"]),
            categories={k: tuple(v) for k, v in meta.get("categories", {}).items()},
            calibrator=Calibrator.from_dict(meta.get("calibrator")),
            metadata=meta.get("metadata", {}),
            linear=LinearTerms.from_dict(meta.get("linear")),
        )

    # ---- inputs named as in a source file (the pyfunc) ---------------------------------------

    @property
    def source(self) -> dict[str, Any]:
        """The :data:`SOURCE_KEY` metadata (empty for bundles trained on the feature pipeline)."""
        src = self.metadata.get(SOURCE_KEY)
        return src if isinstance(src, dict) else {}

    @property
    def input_names(self) -> tuple[str, ...]:
        """Per feature, the column a pyfunc input holds it in: the source file's column name for
        snapshot bundles, else the feature name."""
        columns = self.source.get("columns", {})
        return tuple(columns.get(f, f) for f in self.feature_names)

    @property
    def id_column(self) -> str | None:
        """The source file's customer-id column, if the bundle was trained on one."""
        col = self.source.get("id_column")
        return str(col) if col else None

    def from_source(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A frame as the source file holds it (its column names, text, blanks) made scorable.

        Source columns are renamed to their features (a column already named as the feature
        wins); categorical text is stripped and merged as when training, blanks become missing;
        numbers given as text have blanks as missing. Bundles without :data:`SOURCE_KEY` get
        ``frame`` back unchanged.
        """
        return source_frame(frame, self.source, self.feature_names, self.categories)

    # ---- mlflow helpers ---------------------------------------------------------------------

    def pyfunc_input(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The feature columns as a pyfunc input example, named by :attr:`input_names`:
        categoricals as object strings (None when missing), numerics float64."""
        self.check_columns(frame)
        out: dict[str, Any] = {}
        for col, name in zip(self.feature_names, self.input_names, strict=True):
            if col in self.categories:
                s = pd.Series(frame[col], copy=False).astype(object)
                out[name] = s.where(s.notna(), None).astype(object)
            else:
                out[name] = _numeric(frame[col], col)
        return pd.DataFrame(out, index=frame.index)


class RecordEncoder:
    """Feature records (mappings of feature name to a number, a category level as text, or None)
    to the float64 matrix :func:`encode_features` makes of the same rows as a frame.

    Everything per model is prepared once: the column order, a getter of all features, and a
    dict from level to code per categorical feature. Missing values, absent keys and unknown
    levels become NaN, as in the frame path.
    """

    def __init__(self, feature_names: Sequence[str], categories: Mapping[str, Sequence[str]]):
        self.feature_names = tuple(feature_names)
        self._get = operator.itemgetter(*self.feature_names)
        self._codes: list[tuple[int, dict[Any, float]]] = [
            (i, {str(level): float(code) for code, level in enumerate(categories[name])})
            for i, name in enumerate(self.feature_names)
            if name in categories
        ]

    def _row(self, record: Mapping[str, Any]) -> list[Any]:
        try:
            values = self._get(record)
            row = list(values) if len(self.feature_names) > 1 else [values]
        except KeyError:
            row = [record.get(f) for f in self.feature_names]
        for i, levels in self._codes:
            v = row[i]
            row[i] = levels.get(v if v is None or v.__class__ is str else str(v))
        return row

    def matrix(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """One row per record, one float64 column per feature (None becomes NaN)."""
        rows = [self._row(r) for r in records]
        try:
            return np.array(rows, dtype=np.float64).reshape(len(rows), len(self.feature_names))
        except (TypeError, ValueError) as exc:
            raise BundleError(f"a record holds a value that is not a number: {exc}") from exc


def source_frame(
    frame: pd.DataFrame,
    source: Mapping[str, Any],
    feature_names: Sequence[str],
    categories: Mapping[str, Sequence[str]],
) -> pd.DataFrame:
    """:meth:`ModelBundle.from_source` for any model trained on a source file's columns (the
    uplift model too): ``source`` is the :data:`SOURCE_KEY` metadata; empty: ``frame`` as is."""
    if not source:
        return frame
    columns = source.get("columns", {})
    rename = {s: f for f, s in columns.items() if f not in frame.columns and s in frame.columns}
    out = frame.rename(columns=rename)
    merge = source.get("merge_levels", {})
    for col in feature_names:
        if col not in out.columns:
            continue
        s = pd.Series(out[col], copy=False)
        if col in categories:
            text = _text(s).replace(dict(merge.get(col, {})))
            out[col] = text.where(text != "")
        elif not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            text = _text(s)
            out[col] = text.where(text != "")
    return out


def check_columns(frame: pd.DataFrame, feature_names: Sequence[str]) -> None:
    """Raise BundleError naming the feature columns the frame lacks."""
    missing = [f for f in feature_names if f not in frame.columns]
    if missing:
        raise BundleError(f"input lacks feature column(s) {missing} required by the model")


def encode_features(
    frame: pd.DataFrame,
    feature_names: Sequence[str],
    categories: Mapping[str, Sequence[str]],
) -> pd.DataFrame:
    """Float64 matrix in ``feature_names`` order; categoricals as codes of their ``categories``.

    The one encoding shared by training (before a booster exists) and :meth:`ModelBundle.matrix`.
    """
    x = encode_matrix(frame, feature_names, categories)
    return pd.DataFrame(x, index=frame.index, columns=list(feature_names), copy=False)


def encode_matrix(
    frame: pd.DataFrame,
    feature_names: Sequence[str],
    categories: Mapping[str, Sequence[str]],
) -> np.ndarray:
    """:func:`encode_features` as a column-major ndarray (each column written in one contiguous
    copy; LightGBM reads column-major input without copying it)."""
    check_columns(frame, feature_names)
    if frame.attrs:  # every column read would deep-copy them
        frame = frame.copy(deep=False)
        frame.attrs = {}
    names = list(feature_names)
    out = np.empty((len(frame), len(names)), dtype=np.float64, order="F")
    for i, col in enumerate(names):
        s = frame[col]
        if col in categories:
            out[:, i] = _codes(s, tuple(categories[col]))
        elif s.dtype == np.float64:
            out[:, i] = s.to_numpy()
        else:
            out[:, i] = _numeric(s, col)
    return out


def _codes(s: pd.Series, levels: tuple[str, ...]) -> np.ndarray:
    """Float codes of values in levels; NaN for missing and unknown values."""
    index = pd.Index(list(levels), dtype=object)
    if isinstance(s.dtype, pd.CategoricalDtype):  # map the few categories, then the codes
        cats = s.cat.categories
        mapped = index.get_indexer(pd.Index(cats.astype(object), dtype=object).astype(str))
        codes = np.append(mapped, -1)[s.cat.codes.to_numpy()].astype(np.float64)
        codes[codes < 0] = np.nan
        return codes
    values = pd.Series(s, copy=False).astype(object)
    values = values.where(values.isna(), values.astype(str))
    codes = index.get_indexer(values).astype(np.float64)
    codes[codes < 0] = np.nan
    return codes


def _text(s: pd.Series) -> pd.Series:
    """Values as stripped pandas ``str`` (missing stays missing), whatever the dtype."""
    return s.astype("str").str.strip()


def _numeric(s: pd.Series, col: str) -> np.ndarray:
    """float64 values of a numeric column; BundleError names the column when it is not numeric."""
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
        return s.to_numpy(dtype=np.float64, na_value=np.nan)
    try:
        return pd.to_numeric(s, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    except (ValueError, TypeError) as exc:
        raise BundleError(f"feature column {col!r} must be numeric: {exc}") from exc


def jsonable(value: Any) -> Any:
    """A JSON-safe copy: numpy scalars to Python, NaN/inf to None, tuples to lists, keys to str."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
