"""The promotion gate: a new version earns ``champion`` only by not being worse than the current one.

Both are scored on the same test rows (the new run's test cutoff); every configured metric must be
within tolerance of the champion's, churn metrics on the live rows (not lapsed at the test cutoff)
unless ``promotion.population`` says ``everyone``. Otherwise the new version becomes
``challenger``. The decision and its numbers are returned for logging (run tags and a JSON
artifact) and recorded on the version in the registry.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import pandas as pd
from mlflow import MlflowClient

from core.bundle import BundleError, ModelBundle
from core.registry import (
    CHAMPION,
    alias_version,
    load_registered_bundle,
    make_challenger,
    make_champion,
)
from training.config import PromotionConfig, TrainingConfig
from training.evaluation.compare import churn_bundle_metrics, value_bundle_metrics


@dataclass(frozen=True)
class Comparison:
    """One metric of the new version against the champion's, and whether it passes."""

    metric: str
    new: float
    champion: float
    allowed: float  # the worst value that still passes
    higher_is_better: bool
    passed: bool


@dataclass(frozen=True)
class Decision:
    """What the gate did with a new version, and why."""

    model: str
    version: str
    outcome: Literal["champion", "challenger"]
    reason: str
    champion_version: str | None = None
    comparisons: list[Comparison] = field(default_factory=list)
    new_metrics: dict[str, float] = field(default_factory=dict)
    champion_metrics: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.outcome} ({self.reason})"


def compare(
    kind: str, new: dict[str, float], champion: dict[str, float], cfg: PromotionConfig
) -> list[Comparison]:
    """Each configured metric of ``new`` against ``champion`` with its tolerance."""
    out: list[Comparison] = []
    if kind == "churn":
        suffix = "_live" if cfg.population == "live" else ""
        rules = [(m + suffix, t, True, False) for m, t in cfg.churn_higher.items()]
        rules += [(m + suffix, t, False, False) for m, t in cfg.churn_lower.items()]
    else:
        rules = [(m, t, True, False) for m, t in cfg.value_higher.items()]
        rules += [(m, t, False, True) for m, t in cfg.value_lower_relative.items()]
    for metric, tol, higher, relative in rules:
        c, n = float(champion[metric]), float(new[metric])
        margin = tol * abs(c) if relative else tol
        allowed = c - margin if higher else c + margin
        passed = n >= allowed if higher else n <= allowed
        out.append(Comparison(metric, n, c, allowed, higher, bool(passed)))
    return out


def decide(
    model: str,
    version: str,
    kind: str,
    new: dict[str, float],
    champion_version: str | None,
    champion: dict[str, float] | None,
    cfg: PromotionConfig,
) -> Decision:
    """Pure decision: champion when there is none yet or every comparison passes."""
    if champion_version is None or champion is None:
        return Decision(model, version, "champion", "first version: no champion yet", None, [], new)
    comps = compare(kind, new, champion, cfg)
    failed = [c for c in comps if not c.passed]
    if failed:
        worse = "; ".join(
            f"{c.metric} {c.new:.4f} vs champion {c.champion:.4f} (allowed "
            f"{'>=' if c.higher_is_better else '<='} {c.allowed:.4f})"
            for c in failed
        )
        reason = f"worse than champion v{champion_version} on the same test data: {worse}"
        outcome: Literal["champion", "challenger"] = "challenger"
    else:
        reason = f"not worse than champion v{champion_version} on any gated metric"
        outcome = "champion"
    return Decision(model, version, outcome, reason, champion_version, comps, new, champion)


def bundle_metrics(
    bundle: ModelBundle, test: pd.DataFrame, cfg: TrainingConfig, horizon_days: int
) -> dict[str, float]:
    """Test metrics of a bundle of either kind."""
    if bundle.kind == "churn":
        return churn_bundle_metrics(bundle, test, cfg, horizon_days)[0]
    return value_bundle_metrics(bundle, test, cfg)[0]


def judge(
    client: MlflowClient,
    tracking_uri: str,
    model: str,
    version: str,
    bundle: ModelBundle,
    test: pd.DataFrame,
    cfg: TrainingConfig,
    horizon_days: int,
    evaluated: ModelBundle | None = None,
) -> Decision:
    """Re-evaluate the current champion on ``test`` and decide; no alias moves yet.

    ``evaluated`` is the new model as fitted without the test rows (a registered model refitted
    on every labelled cutoff has seen them): the new metrics are its. A churn model whose
    rolling validation did not reach the best reference never replaces a champion that did.
    """
    new = bundle_metrics(evaluated or bundle, test, cfg, horizon_days)
    current = alias_version(client, model, CHAMPION)
    if current is None or current == str(version):
        return decide(model, str(version), bundle.kind, new, current, None, cfg.promotion)
    try:
        old, _ = load_registered_bundle(model, CHAMPION, tracking_uri)
    except BundleError as exc:
        reason = f"champion v{current} cannot score the current features ({exc}); replaced"
        return Decision(model, str(version), "champion", reason, current, [], new)
    champion = _recorded(old, test) or bundle_metrics(old, test, cfg, horizon_days)
    d = decide(model, str(version), bundle.kind, new, current, champion, cfg.promotion)
    if d.outcome == "champion" and not reaches(bundle) and reaches(old):
        why = (
            f"no candidate reaches the best reference on the validation cutoffs, and champion "
            f"v{current} did"
        )
        return replace(d, outcome="challenger", reason=why)
    if (
        d.outcome == "champion"
        and not beats_value_references(bundle)
        and beats_value_references(old)
    ):
        why = (
            "does not beat carry-forward and BG/NBD + Gamma-Gamma on the test cutoff "
            f"(value_references), and champion v{current} did"
        )
        return replace(d, outcome="challenger", reason=why)
    return d


def beats_value_references(bundle: ModelBundle) -> bool:
    """Whether a value bundle beat carry-forward and BG/NBD + Gamma-Gamma when it was trained
    (bundles without the comparison, and churn bundles, count as beating them)."""
    refs = bundle.metadata.get("value_references")
    return not isinstance(refs, dict) or bool(refs.get("beats_references", True))


def _recorded(old: ModelBundle, test: pd.DataFrame) -> dict[str, float] | None:
    """The champion's recorded test metrics when it was refitted on these very test rows (a
    rerun on the same data): its out-of-sample model was scored on the same cutoff, whereas
    re-scoring the refit would grade it on labels it was trained on."""
    window = old.metadata.get("training_window") or {}
    metrics = old.metadata.get("test_metrics")
    if test.empty or not isinstance(window, dict) or not isinstance(metrics, dict):
        return None
    cutoff = f"{pd.Timestamp(test['cutoff'].iloc[0]):%Y-%m-%d}"
    seen = cutoff in str(window.get("refit_cutoffs", ""))
    return metrics if seen and window.get("test_cutoff") == cutoff else None


def reaches(bundle: ModelBundle) -> bool:
    """Whether a churn bundle's rolling validation reached the best reference (bundles trained
    before the selection existed, and value bundles, count as reaching it)."""
    sel = bundle.metadata.get("selection")
    return not isinstance(sel, dict) or bool(sel.get("reaches_references", True))


def gate(
    client: MlflowClient,
    tracking_uri: str,
    bundles: dict[str, tuple[str, ModelBundle]],
    test: pd.DataFrame,
    cfg: TrainingConfig,
    horizon_days: int,
    judged: dict[str, Decision] | None = None,
    evaluated: dict[str, ModelBundle] | None = None,
) -> dict[str, Decision]:
    """Judge every model of one training run (name -> (version, bundle)), add the decisions on
    the run's other models judged elsewhere (``judged``), and move the aliases together: all
    become champion when each passes, otherwise all become challenger, so the service never
    meets models that were not trained together."""
    decisions = {
        name: judge(
            client,
            tracking_uri,
            name,
            version,
            bundle,
            test,
            cfg,
            horizon_days,
            (evaluated or {}).get(name),
        )
        for name, (version, bundle) in bundles.items()
    } | (judged or {})
    failed = [f"{d.model} v{d.version}" for d in decisions.values() if d.outcome != "champion"]
    for name, d in decisions.items():
        if failed and d.outcome == "champion":
            reason = f"{d.reason}; kept as challenger: {', '.join(failed)} did not pass"
            decisions[name] = d = replace(d, outcome="challenger", reason=reason)
        move = make_champion if d.outcome == "champion" else make_challenger
        move(client, name, d.version, f"gate: {d.reason}")
    return decisions
