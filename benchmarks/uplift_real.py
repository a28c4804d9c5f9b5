"""Uplift on a real randomised trial: Hillstrom's e-mail campaign (MineThatData 2008).

For each outcome (``visit``, ``conversion``): the file read as ``churn train-uplift`` reads it (both
e-mail arms pooled against No E-Mail, the other outcomes and ``spend`` dropped), a 30% holdout
stratified by treated x outcome, the product's learner chosen by cross-validated Qini on the 70%,
and scikit-uplift 0.5.1's SoloModel, TwoModels and ClassTransformation, each with LightGBM
(defaults) and with logistic regression, fitted on the same 70% in the same run. Qini
coefficients on the holdout with 95% bootstrap intervals (the same draws for every learner).

    nice .venv/bin/python benchmarks/uplift_real.py --data /work/shared/data/hillstrom/hillstrom.csv
"""

# ruff: noqa: E402 - the sys.path fix below must run before the project imports

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import numpy as np
import pandas as pd

from core.bundle import encode_features
from core.uplift import TREATED
from training.uplift.campaign import OUTCOME, read_campaign_file
from training.uplift.campaign_job import (
    HOLDOUT_SHARE,
    LEARNER_NAMES,
    cross_validated_qini,
    evaluate,
    fit_model,
    strata,
    stratified_split,
)
from training.uplift.config import UpliftConfig

OUTCOMES = {"visit": ("conversion", "spend"), "conversion": ("visit", "spend")}


def _sklift(x_tr, y_tr, t_tr, x_te) -> dict[str, np.ndarray]:
    """scikit-uplift's learners on one-hot features (logistic regression on standardised ones)."""
    from lightgbm import LGBMClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklift.models import ClassTransformation, SoloModel, TwoModels

    def lgbm():
        return LGBMClassifier(verbosity=-1, random_state=0, n_jobs=1)

    def logit():
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))

    out = {}
    for base, make in (("LightGBM", lgbm), ("logistic", logit)):
        learners = {
            "SoloModel": SoloModel(make()),
            "TwoModels": TwoModels(make(), make(), method="vanilla"),
            "ClassTransformation": ClassTransformation(make()),
        }
        for name, model in learners.items():
            model.fit(x_tr, y_tr, t_tr)
            out[f"sklift {name} ({base})"] = np.asarray(model.predict(x_te), dtype=float)
    return out


def one_outcome(path: str, outcome: str, seed: int, draws: int) -> pd.DataFrame:
    """The table of one outcome: product (chosen and every candidate) and scikit-uplift."""
    c = read_campaign_file(
        path, treatment="segment", control="No E-Mail", outcome=outcome, drop=OUTCOMES[outcome]
    )
    frame = c.frame
    y, t = frame[OUTCOME].to_numpy(np.float64), frame[TREATED].to_numpy(np.int64)
    x = encode_features(frame, c.features, c.categories)
    held = stratified_split(strata(t, y), HOLDOUT_SHARE, seed)
    tr = ~held
    cfg = UpliftConfig()
    t0 = time.perf_counter()
    cv = cross_validated_qini(x[tr], y[tr], t[tr], "binary", c.categories, cfg, seed).mean
    chosen = max(cv, key=lambda k: cv[k])
    scores = {}
    for k in LEARNER_NAMES:
        m = fit_model(x[tr], y[tr], t[tr], k, "binary", c.categories, cfg, seed)  # type: ignore[arg-type]
        label = f"product: {LEARNER_NAMES[k]}" + (" <- chosen" if k == chosen else "")
        scores[label] = m.predict(x[held])
    product_s = time.perf_counter() - t0
    onehot = pd.get_dummies(frame[list(c.features)], columns=list(c.categories), dtype=float)
    onehot.columns = [f"f{i}" for i in range(onehot.shape[1])]  # LightGBM refuses "$" in names
    scores |= _sklift(onehot[tr], y[tr], t[tr], onehot[held])
    scores["random"] = np.random.default_rng(seed + 1).random(int(held.sum()))
    table = evaluate(y[held], t[held], scores, draws, seed)
    table.insert(0, "outcome", outcome)
    print(f"{outcome}: product fitted in {product_s:.0f} s; cv Qini {cv}", file=sys.stderr)
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="/work/shared/data/hillstrom/hillstrom.csv")
    ap.add_argument("--outcomes", nargs="+", default=list(OUTCOMES))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--draws", type=int, default=200)
    args = ap.parse_args()
    tables = [one_outcome(args.data, o, args.seed, args.draws) for o in args.outcomes]
    out = pd.concat(tables)[["outcome", "qini", "qini_low", "qini_high", "auuc"]]
    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        print(out.round(4).to_string())


if __name__ == "__main__":
    main()
