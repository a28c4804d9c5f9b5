"""Which rule should ``churn train-uplift`` choose its learner by? A nested study on Hillstrom
that never touches ``benchmarks/uplift_real.py``'s 30% holdout.

For each outcome (``visit``, ``conversion``): the file read exactly as ``uplift_real.py`` reads
it, the same stratified 70/30 split (same seed, same functions), and then the **70% training share
only**: ``--repeats`` inner stratified 70/30 splits of it (seeds ``--inner-seed`` + r, distinct
from the benchmark's 7 and 8). On each: the product's 3-fold cross-validation on the inner train
(per-fold Qini of every candidate), every candidate fitted on the whole inner train and scored by
its Qini on the inner holdout, and the learner each rule picks:

- ``best mean``: today's rule, the highest mean cross-validated Qini;
- ``one SE``: the simplest candidate (linear < to < t < x) whose mean is within one standard
  error of the best mean, the SE being the best candidate's (std of its fold Qinis, ddof 1, over
  sqrt(folds)), as in Breiman et al. and Hastie et al.;
- ``one SE (own)``: the same with each candidate's own standard error (a sensitivity check);
- ``best mean + <blend>``: today's rule among the candidates and one ensemble (:data:`BLENDS`),
  whose effect is the plain mean of its members' effects (all on one scale: the change in the
  outcome's probability). Its per-fold Qini comes from the members' out-of-fold effects (no refit)
  and its inner-holdout Qini from the mean of the members' fitted effects.

A rule's score on a split is the inner-holdout Qini of the learner it picks; the table gives the
mean over splits of each rule and each fixed learner (``always <blend>`` included), and the
paired difference of each other rule and each fixed learner minus best mean (mean, its standard
error over splits, splits better/same/worse).

    PYTHONPATH=. nice /work/main/.venv/bin/python benchmarks/uplift_rule_study.py \\
        --data /work/shared/data/hillstrom/hillstrom.csv --save splits.csv
    PYTHONPATH=. /work/main/.venv/bin/python benchmarks/uplift_rule_study.py --tables a.csv b.csv
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
    CANDIDATES,
    HOLDOUT_SHARE,
    CrossValidation,
    fit_model,
    fold_qini,
    out_of_fold,
    strata,
    stratified_split,
)
from training.uplift.config import UpliftConfig
from training.uplift.metrics import qini_coefficient

OUTCOMES = {"visit": ("conversion", "spend"), "conversion": ("visit", "spend")}
SIMPLEST_FIRST = ("linear", "to", "t", "x")
BLENDS = {
    "blend4": ("linear", "to", "t", "x"),
    "blend lin+x": ("linear", "x"),
    "blend lin+to+x": ("linear", "to", "x"),
}
"""Ensembles: the plain mean of the members' effects."""


def with_blends(effects: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The candidates' effects and each blend's (the mean of its members')."""
    blends = {b: np.mean([effects[k] for k in m], axis=0) for b, m in BLENDS.items()}
    return effects | blends


def best_mean(cv: CrossValidation) -> str:
    """Today's rule: the highest mean cross-validated Qini."""
    mean = cv.mean
    return max(CANDIDATES, key=lambda k: mean[k])


def one_se(cv: CrossValidation, own: bool = False) -> str:
    """The simplest candidate whose mean is within one standard error of the best mean (the best
    candidate's SE, or with ``own`` each candidate's own)."""
    mean, se = cv.mean, cv.standard_error
    best = best_mean(cv)
    return next(k for k in SIMPLEST_FIRST if mean[k] >= mean[best] - se[best if not own else k])


def best_with(blend: str):
    """Today's rule among the candidates and ``blend``."""
    return lambda cv: max((*CANDIDATES, blend), key=lambda k: cv.mean[k])


RULES = {"best mean": best_mean, "one SE": one_se, "one SE (own)": lambda cv: one_se(cv, True)}
RULES |= {f"best mean + {b}": best_with(b) for b in BLENDS}
LEARNERS = (*CANDIDATES, *BLENDS)


def one_outcome(path: str, outcome: str, seed: int, repeats: int, inner_seed: int) -> pd.DataFrame:
    """One row per inner split: each rule's pick and inner-holdout Qini, each learner's Qini."""
    c = read_campaign_file(
        path, treatment="segment", control="No E-Mail", outcome=outcome, drop=OUTCOMES[outcome]
    )
    frame = c.frame
    y, t = frame[OUTCOME].to_numpy(np.float64), frame[TREATED].to_numpy(np.int64)
    x = encode_features(frame, c.features, c.categories)
    tr = ~stratified_split(strata(t, y), HOLDOUT_SHARE, seed)  # the benchmark's 70%, never its 30%
    x, y, t = x[tr].reset_index(drop=True), y[tr], t[tr]
    cfg = UpliftConfig()
    rows = []
    for r in range(repeats):
        s = inner_seed + r
        t0 = time.perf_counter()
        held = stratified_split(strata(t, y), HOLDOUT_SHARE, s)
        it = ~held
        fold, oof = out_of_fold(x[it], y[it], t[it], "binary", c.categories, cfg, s)
        cv = fold_qini(y[it], t[it], fold, with_blends(oof))
        effects = {
            k: fit_model(x[it], y[it], t[it], k, "binary", c.categories, cfg, s).predict(x[held])
            for k in CANDIDATES
        }
        qini = {
            k: float(qini_coefficient(y[held], t[held], e)) for k, e in with_blends(effects).items()
        }
        row: dict[str, object] = {"outcome": outcome, "split": s}
        for name, rule in RULES.items():
            pick = rule(cv)
            row |= {f"{name}: pick": pick, f"{name}: qini": qini[pick]}
        row |= {f"cv {k}": f"{cv.mean[k]:.4f}±{cv.standard_error[k]:.4f}" for k in LEARNERS}
        row |= {f"holdout {k}": qini[k] for k in LEARNERS}
        rows.append(row)
        print(f"{outcome} split {s}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
        with pd.option_context("display.width", 250, "display.max_columns", 30):
            print(pd.DataFrame([row]).round(4).to_string(index=False), flush=True)
    return pd.DataFrame(rows)


def _paired(diff: pd.Series) -> dict[str, object]:
    n = len(diff)
    return {
        "mean": diff.mean(),
        "SE": diff.std(ddof=1) / np.sqrt(n) if n > 1 else float("nan"),
        "better/same/worse": f"{(diff > 0).sum()}/{(diff == 0).sum()}/{(diff < 0).sum()}",
    }


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per outcome: the mean over splits of each rule's and each learner's inner-holdout Qini,
    the picks, and each other rule and each fixed learner minus best mean (mean, SE over splits,
    splits better/same/worse)."""
    out = []
    for outcome, g in table.groupby("outcome", sort=False):
        row: dict[str, object] = {"outcome": outcome, "splits": len(g)}
        for name in RULES:
            row[f"{name}"] = g[f"{name}: qini"].mean()
            row[f"{name} picks"] = " ".join(g[f"{name}: pick"])
        row |= {f"always {k}": g[f"holdout {k}"].mean() for k in LEARNERS}
        base = g["best mean: qini"]
        others = {n: g[f"{n}: qini"] for n in RULES if n != "best mean"}
        others |= {f"always {k}": g[f"holdout {k}"] for k in LEARNERS}
        for name, q in others.items():
            row |= {f"{name} - best mean: {k}": v for k, v in _paired(q - base).items()}
        out.append(row)
    return pd.DataFrame(out).set_index("outcome").T


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="/work/shared/data/hillstrom/hillstrom.csv")
    ap.add_argument("--outcomes", nargs="+", default=list(OUTCOMES))
    ap.add_argument("--seed", type=int, default=7, help="the benchmark's split seed")
    ap.add_argument("--repeats", type=int, default=6)
    ap.add_argument("--inner-seed", type=int, default=101)
    ap.add_argument("--save", help="also write the per-split table to this CSV")
    ap.add_argument("--tables", nargs="+", help="summarise these saved per-split CSVs instead")
    args = ap.parse_args()
    if args.tables:
        tables = [pd.read_csv(p) for p in args.tables]
    else:
        tables = [
            one_outcome(args.data, o, args.seed, args.repeats, args.inner_seed)
            for o in args.outcomes
        ]
    table = pd.concat(tables, ignore_index=True)
    if args.save:
        table.to_csv(args.save, index=False)
    with pd.option_context("display.width", 250, "display.max_colwidth", 40):
        print(summary(table).to_string())


if __name__ == "__main__":
    main()
