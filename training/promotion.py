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
from core.lang import Lang
from core.notes import Note, joined, note
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
    """What the gate did with a new version, and why: ``reason`` in English (run tags, the
    registry, the model card), ``why`` the same sentences as notes (:meth:`said` in any
    language)."""

    model: str
    version: str
    outcome: Literal["champion", "challenger"]
    reason: str
    champion_version: str | None = None
    comparisons: list[Comparison] = field(default_factory=list)
    new_metrics: dict[str, float] = field(default_factory=dict)
    champion_metrics: dict[str, float] = field(default_factory=dict)
    why: tuple[Note, ...] = ()

    def __str__(self) -> str:
        return f"{self.outcome} ({self.reason})"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["why"]
        return out

    def said(self, lang: Lang = "en") -> str:
        """The reason in ``lang``."""
        return joined(self.why, lang) if self.why else self.reason

    def line(self, lang: Lang = "en") -> str:
        """``name vN: outcome (reason)`` in ``lang`` (the outcome in bold, rich markup)."""
        return note("decision", model=self.model, version=self.version,
                    outcome=note(f"outcome_{self.outcome}"), reason=self.said(lang)).text(lang)  # fmt: skip


def because(*why: Note) -> dict[str, Any]:
    """``reason`` (English) and ``why`` of a :class:`Decision` given as notes."""
    return {"reason": joined(why, "en"), "why": why}


FIRST = note("gate_first")
"""The reason of a model's first version."""


def cannot_score(current: str, exc: Exception) -> Note:
    """Why a champion that cannot score the current features is replaced."""
    return note("gate_cannot_score", version=current, error=str(exc))


def worse_metric(c: Comparison) -> Note:
    """One failed comparison: ``metric new vs champion old (allowed >= x)``."""
    op = ">=" if c.higher_is_better else "<="
    return note("gate_worse_metric", metric=c.metric, new=c.new, champion=c.champion, op=op,
                allowed=c.allowed)  # fmt: skip

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
        return Decision(model, version, "champion", **because(FIRST), new_metrics=new)
    comps = compare(kind, new, champion, cfg)
    failed = [c for c in comps if not c.passed]
    if failed:
        worse = [worse_metric(c) for c in failed]
        why = note("gate_worse", version=champion_version, worse=worse)
        outcome: Literal["champion", "challenger"] = "challenger"
    else:
        why = note("gate_not_worse", version=champion_version)
        outcome = "champion"
    return Decision(model, version, outcome, champion_version=champion_version, comparisons=comps,
                    new_metrics=new, champion_metrics=champion, **because(why))  # fmt: skip


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
        said = because(cannot_score(current, exc))
        return Decision(model, str(version), "champion", champion_version=current, new_metrics=new,
                        **said)  # fmt: skip
    champion = _recorded(old, test) or bundle_metrics(old, test, cfg, horizon_days)
    d = decide(model, str(version), bundle.kind, new, current, champion, cfg.promotion)
    if d.outcome == "champion" and not reaches(bundle) and reaches(old):
        return replace(
            d, outcome="challenger", **because(note("gate_no_reference", version=current))
        )
    if (
        d.outcome == "champion"
        and not beats_value_references(bundle)
        and beats_value_references(old)
    ):
        said = because(note("gate_value_references", version=current))
        return replace(d, outcome="challenger", **said)
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
            kept = note("gate_kept", failed=", ".join(failed))
            why = (*d.why, kept) if d.why else ()  # a reason without notes stays English
            reason = f"{d.reason}; {kept.text('en')}"
            decisions[name] = d = replace(d, outcome="challenger", reason=reason, why=why)
        move = make_champion if d.outcome == "champion" else make_challenger
        move(client, name, d.version, f"gate: {d.reason}")
    return decisions
