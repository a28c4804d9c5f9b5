"""Rolling-origin selection of the churn model among LightGBM-based candidates.

Every candidate is fitted per fold on earlier cutoffs only (:class:`training.split.Fold`) and
scored on the fold's validation cutoff, beside the references: a regularised logistic regression
on the same features, the recency rule and the RFM score. The candidate of lowest mean validation
log loss is chosen; it *reaches the references* when its mean validation ROC-AUC is at least the
best reference's (less ``selection.reference_tolerance``). Intervals are 95% paired bootstrap
intervals of the mean-over-cutoffs ROC-AUC difference (customers resampled within each cutoff).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import numpy as np
import pandas as pd
from sklearn.metrics import log_loss, roc_auc_score

from core.bundle import encode_features
from training.candidates import DESCRIPTIONS, CandidateFit, fit_candidate, fit_linear
from training.config import CandidateName, TrainingConfig
from training.evaluation.baselines import RECENCY, RFM_SCORE, _rule_score
from training.spec import CHURN_LABEL, FeatureSpec, labelled
from training.split import CutoffPlan, Fold, rows_at

REFERENCES: dict[str, str] = {
    "logistic_regression": "the logistic regression",
    "recency_rule": "the recency rule",
    "rfm_score": "the RFM score",
}
BOOTSTRAP = 400


@dataclass(frozen=True)
class Selection:
    """Per-cutoff validation scores of candidates and references, and what was chosen."""

    auc: pd.DataFrame  # scorer x validation cutoff (ROC-AUC)
    log_loss: pd.DataFrame  # candidates and the logistic regression x cutoff
    chosen: CandidateName
    best_reference: str
    reaches: bool
    rounds: dict[str, list[int]]
    oof: pd.DataFrame  # cutoff, churned, and every scorer's validation score per row
    intervals: dict[str, tuple[float, float, float]] = field(default_factory=dict)

    @property
    def candidates(self) -> list[str]:
        return [c for c in self.log_loss.index if c in DESCRIPTIONS]

    def mean_auc(self, scorer: str) -> float:
        return float(self.auc.loc[scorer].mean())

    def table(self) -> pd.DataFrame:
        """Candidates and references x cutoffs (ROC-AUC), mean ROC-AUC and mean log loss."""
        out = self.auc.copy()
        out.columns = [f"{c:%Y-%m-%d}" for c in out.columns]
        out["mean ROC-AUC"] = self.auc.mean(axis=1)
        out["mean log loss"] = self.log_loss.mean(axis=1).reindex(out.index)
        out.index.name = "scorer"
        return out

    def sentence(self, registered: bool | None = None) -> str:
        """One plain sentence: the chosen candidate against plain LightGBM and the best
        reference over the validation cutoffs, and what happened to it."""
        n = self.auc.shape[1]
        chosen, ref = self.chosen, self.best_reference
        c_auc, r_auc = self.mean_auc(chosen), self.mean_auc(ref)
        words = [f"on your data {DESCRIPTIONS[chosen]} (lowest validation log loss)"]
        if chosen != "lightgbm" and "lightgbm" in self.auc.index:
            d = c_auc - self.mean_auc("lightgbm")
            verb = "beats" if d > 0 else "trails"
            words.append(f"{verb} plain LightGBM by {abs(d):.3f} ROC-AUC over {n} cutoff(s)")
        lo, hi = self.intervals.get(ref, (np.nan, np.nan, np.nan))[1:]
        ci = f", difference 95% interval [{lo:+.3f}, {hi:+.3f}]" if np.isfinite(lo) else ""
        if self.reaches:
            verb = "beats" if c_auc > r_auc else "matches"
            words.append(f"{verb} {REFERENCES[ref]} ({c_auc:.3f} vs {r_auc:.3f}{ci})")
        else:
            words.append(
                f"does not reach the best reference, {REFERENCES[ref]} ({c_auc:.3f} vs "
                f"{r_auc:.3f}{ci}): no candidate reaches the best reference"
            )
        text = f"{words[0]} " + " and ".join(words[1:])
        if registered is not None:
            text += "; registered it" + ("" if registered else " as challenger")
        return text[0].upper() + text[1:]


def auc_samples(
    y: np.ndarray, scores: dict[str, np.ndarray], n: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """ROC-AUC of every scorer on ``n`` resamples of the rows (the same for all scorers),
    by the weighted Mann-Whitney statistic (ties counted half)."""
    rows = len(y)
    weights = np.stack([np.bincount(rng.integers(0, rows, rows), minlength=rows) for _ in range(n)])
    pos, neg = weights * (y > 0), weights * (y <= 0)
    out = {}
    for name, s in scores.items():
        values, inverse = np.unique(s, return_inverse=True)
        k = len(values)
        offs = (np.arange(n)[:, None] * k + inverse[None, :]).ravel()
        p_u = np.bincount(offs, weights=pos.ravel(), minlength=n * k).reshape(n, k)
        n_u = np.bincount(offs, weights=neg.ravel(), minlength=n * k).reshape(n, k)
        below = np.cumsum(n_u, axis=1) - n_u
        wins = (p_u * (below + 0.5 * n_u)).sum(axis=1)
        out[name] = wins / np.maximum(p_u.sum(axis=1) * n_u.sum(axis=1), 1e-12)
    return out


def fold_rows(
    frame: pd.DataFrame, fold: Fold, plan: CutoffPlan, cfg: TrainingConfig
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training rows, early-stopping rows) of a fold (``selection.early_stop``)."""
    if cfg.selection.early_stop == "later_cutoff":
        train = labelled(rows_at(frame, fold.train), CHURN_LABEL)
        stop = labelled(rows_at(frame, fold.early_stop), CHURN_LABEL)
    else:
        h = pd.Timedelta(days=plan.horizon_days)
        n = cfg.split.train_cutoffs
        cutoffs = tuple(c for c in plan.refit_cutoffs if c + h <= fold.validation)[-n:]
        rows = labelled(rows_at(frame, cutoffs), CHURN_LABEL)
        ids = pd.util.hash_array(
            rows["customer_id"].astype(str).to_numpy(), hash_key="churnselection01"
        )
        held = (ids % 1000) < cfg.selection.early_stop_share * 1000
        train, stop = rows[~held], rows[held]
    if len(train) > cfg.baseline_max_rows:
        train = train.sample(cfg.baseline_max_rows, random_state=cfg.seed)
    return train, stop


def _fold_scores(
    frame: pd.DataFrame, fold: Fold, plan: CutoffPlan, spec: FeatureSpec, cfg: TrainingConfig
) -> tuple[pd.DataFrame, dict[CandidateName, int], dict[CandidateName, CandidateFit]]:
    train, stop = fold_rows(frame, fold, plan, cfg)
    val = labelled(rows_at(frame, fold.validation), CHURN_LABEL)

    def enc(part: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        return encode_features(part, spec.names, spec.categories), part[CHURN_LABEL].to_numpy(float)

    xt, xs, xv = enc(train), enc(stop), enc(val)
    out = pd.DataFrame(
        {
            "cutoff": fold.validation,
            "customer_id": val["customer_id"].to_numpy(),
            CHURN_LABEL: xv[1],
        }
    )
    rounds: dict[CandidateName, int] = {}
    fits: dict[CandidateName, CandidateFit] = {}
    for name in cfg.selection.candidates:
        fit = fit_candidate(name, spec, cfg, xt, xs)
        out[name] = fit.raw(xv[0])
        rounds[name], fits[name] = fit.rounds, fit
    linear = fit_linear(xt[0], xt[1], spec, cfg.selection.linear_c, cfg.seed)
    margin = linear.score(xv[0].to_numpy(np.float64), spec.names)
    out["logistic_regression"] = 1.0 / (1.0 + np.exp(-margin))
    out["recency_rule"] = _rule_score(val, RECENCY, 1.0) if RECENCY in val else 0.0
    out["rfm_score"] = _rule_score(val, RFM_SCORE, -1.0) if RFM_SCORE in val else 0.0
    return out, rounds, fits


def select(
    frame: pd.DataFrame, plan: CutoffPlan, spec: FeatureSpec, cfg: TrainingConfig
) -> tuple[Selection, dict[CandidateName, CandidateFit]]:
    """Validate every candidate and reference on the plan's rolling folds and choose; also
    returns the candidates as fitted on the last (test) fold."""
    parts: list[pd.DataFrame] = []
    rounds: dict[str, list[int]] = {n: [] for n in cfg.selection.candidates}
    last: dict[CandidateName, CandidateFit] = {}
    for fold in plan.rolling:
        scores, r, last = _fold_scores(frame, fold, plan, spec, cfg)
        parts.append(scores)
        for name, k in r.items():
            rounds[name].append(k)
    oof = pd.concat(parts, ignore_index=True)
    scorers = [*cfg.selection.candidates, *REFERENCES]
    auc, loss = {}, {}
    for cutoff, g in oof.groupby("cutoff", sort=True):
        y = g[CHURN_LABEL].to_numpy()
        two = len(np.unique(y)) == 2
        auc[cutoff] = {s: roc_auc_score(y, g[s]) if two else np.nan for s in scorers}
        loss[cutoff] = {
            s: log_loss(y, np.clip(g[s], 1e-6, 1 - 1e-6), labels=[0, 1])
            for s in [*cfg.selection.candidates, "logistic_regression"]
        }
    auc_t, loss_t = pd.DataFrame(auc), pd.DataFrame(loss)
    chosen = cast(
        CandidateName, str(loss_t.loc[list(cfg.selection.candidates)].mean(axis=1).idxmin())
    )
    refs = auc_t.loc[list(REFERENCES)].mean(axis=1)
    best_ref = str(refs.idxmax())
    reaches = bool(auc_t.loc[chosen].mean() >= refs.max() - cfg.selection.reference_tolerance)
    intervals = _intervals(oof, chosen, scorers, cfg.seed)
    sel = Selection(auc_t, loss_t, chosen, best_ref, reaches, rounds, oof, intervals)
    return sel, last


def _intervals(
    oof: pd.DataFrame, chosen: str, scorers: list[str], seed: int
) -> dict[str, tuple[float, float, float]]:
    """Mean-over-cutoffs ROC-AUC of ``chosen`` minus each scorer's, with a 95% interval."""
    rng = np.random.default_rng(seed)
    diffs: dict[str, list[np.ndarray]] = {s: [] for s in scorers if s != chosen}
    for _, g in oof.groupby("cutoff", sort=True):
        y = g[CHURN_LABEL].to_numpy()
        if len(np.unique(y)) < 2:
            continue
        boot = auc_samples(y, {s: g[s].to_numpy(float) for s in scorers}, BOOTSTRAP, rng)
        for s in diffs:
            diffs[s].append(boot[chosen] - boot[s])
    out = {}
    for s, parts in diffs.items():
        if parts:
            d = np.mean(parts, axis=0)
            out[s] = (float(d.mean()), float(np.quantile(d, 0.025)), float(np.quantile(d, 0.975)))
    return out
