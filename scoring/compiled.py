"""Compiled trees for batch scoring: a champion's booster as a C library (treelite + tl2cgen),
about twice as fast as ``Booster.predict`` on large batches.

Each model version is compiled once (seconds to a minute) and cached under
``$CHURN_HOME/compiled/<name>-v<version>-<hash of the model text>``. The library reads float32
rows, so on first use it is checked against LightGBM on rows of that batch: it is used only when
every prediction is within :data:`TOLERANCE` (relative) and keeps LightGBM's order of those rows;
the verdict is cached with it. No C compiler, a failed compilation or a failed check leaves
LightGBM in charge, with a note in the log.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.paths import home

if TYPE_CHECKING:
    import lightgbm as lgb

log = logging.getLogger(__name__)

TOLERANCE = 1e-6
"""Largest relative difference from LightGBM's prediction that a compiled model may show."""
PROBE_ROWS = 5_000
"""Rows of the first batch a new compiled model is checked on."""
TOOLCHAIN = "gcc"
"""The C compiler tl2cgen calls."""
LIBRARY, VERDICT = "model.so", "verdict.json"
CHUNK_ROWS = 16_384
"""Rows converted and predicted at a time (8 MB of float32 at 123 features)."""


@dataclass(frozen=True, eq=False)
class CompiledBooster:
    """A booster compiled to a shared library: ``predict`` gives what ``Booster.predict`` gives
    (probability for binary models, the transformed value for regression ones)."""

    predictor: Any  # tl2cgen.Predictor
    path: Path

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions of an encoded matrix (rows x features; NaN is missing).

        The library reads row-major float32, so the column-major matrix is converted a block of
        :data:`CHUNK_ROWS` rows at a time into one reused buffer: a whole converted copy would be
        fresh memory, and faulting it in cost more than the prediction itself.
        """
        import tl2cgen

        out = np.empty(len(x), dtype=np.float64)
        buffer = np.empty((min(CHUNK_ROWS, len(x)), x.shape[1]), dtype=np.float32)
        for start in range(0, len(x), CHUNK_ROWS):
            rows = buffer[: min(CHUNK_ROWS, len(x) - start)]
            rows[...] = x[start : start + len(rows)]
            got = self.predictor.predict(tl2cgen.DMatrix(rows, dtype="float32"))
            out[start : start + len(rows)] = np.asarray(got).reshape(len(rows))
        return out


def cache_folder(name: str, version: str, booster: lgb.Booster) -> Path:
    """Where the compiled model of ``name`` version ``version`` lives (keyed by its model text:
    a version re-registered with other trees compiles again)."""
    digest = hashlib.sha256(booster.model_to_string().encode("utf-8")).hexdigest()[:16]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return home() / "compiled" / f"{safe}-v{version}-{digest}"


def _build(booster: lgb.Booster, folder: Path) -> None:
    """Compile into a fresh folder beside ``folder`` and move it into place whole."""
    import tl2cgen
    import treelite

    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        model = treelite.frontend.from_lightgbm(booster)
        tl2cgen.export_lib(
            model,
            toolchain=TOOLCHAIN,
            libpath=str(tmp / LIBRARY),
            params={"quantize": 1, "parallel_comp": os.cpu_count() or 1},
            verbose=False,
        )
        try:
            tmp.rename(folder)
        except OSError:  # another process finished first: keep theirs
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _agrees(compiled: np.ndarray, reference: np.ndarray) -> bool:
    """Within :data:`TOLERANCE` of LightGBM, and in LightGBM's order (ties in any order)."""
    close = np.allclose(compiled, reference, rtol=TOLERANCE, atol=1e-12)
    order = np.argsort(reference, kind="stable")
    return bool(close and np.all(np.diff(compiled[order]) >= 0))


def compiled_booster(
    booster: lgb.Booster, name: str, version: str, probe: np.ndarray, threads: int = 0
) -> CompiledBooster | None:
    """The compiled model of this booster (compiled and checked on ``probe`` rows the first
    time), or None where LightGBM must score: no compiler, a failure, or a failed check."""
    folder = cache_folder(name, version, booster)
    try:
        if not (folder / LIBRARY).is_file():
            log.info("compiling %s v%s to C (once per model version)", name, version)
            _build(booster, folder)
        verdict_file = folder / VERDICT
        if verdict_file.is_file():
            verdict = json.loads(verdict_file.read_text(encoding="utf-8"))
        else:
            verdict = None
        if verdict is not None and not verdict.get("agrees"):
            log.info("%s v%s: compiled trees differ from LightGBM; using LightGBM", name, version)
            return None
        import tl2cgen

        nthread = threads or os.cpu_count() or 1
        model = CompiledBooster(tl2cgen.Predictor(str(folder / LIBRARY), nthread=nthread), folder)
        if verdict is None:
            rows = probe[:PROBE_ROWS]
            reference = np.asarray(booster.predict(rows, num_threads=nthread), dtype=np.float64)
            agrees = _agrees(model.predict(rows), reference)
            verdict_file.write_text(json.dumps({"agrees": agrees, "rows": len(rows)}), "utf-8")
            if not agrees:
                log.warning(
                    "%s v%s: compiled trees differ from LightGBM beyond %g; using LightGBM",
                    name,
                    version,
                    TOLERANCE,
                )
                return None
        return model
    except Exception as exc:  # no compiler, treelite/tl2cgen errors: LightGBM still works
        log.warning(
            "%s v%s: compiled trees unavailable (%s); scoring with LightGBM",
            name,
            version,
            type(exc).__name__,
        )
        return None
