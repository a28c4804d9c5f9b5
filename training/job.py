"""The training job behind ``churn train`` and the demo: data -> features -> models -> MLflow.

Steps: plan the time split, build the multi-cutoff training set, fit and evaluate both models and
the baselines, log everything to one MLflow run, register both models and run the promotion gate.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field, replace

import mlflow
import pandas as pd
from rich.console import Console

from core.csv_out import to_csv_text
from core.lang import Lang
from core.notes import Note, as_of_note, note
from core.phases import Phases
from core.registry import client_for, resolve_uri
from features.config import FeatureConfig
from features.contract import CONTRACT_VERSION, TABLES
from features.dataset import Dataset
from features.pipeline.build import build_training_set
from features.pipeline.cutoffs import monthly_cutoffs
from training.config import TrainingConfig
from training.evaluation import plots
from training.evaluation.compare import MODEL, Evaluation
from training.evaluation.model_card import model_card
from training.fit import Trained, fit_models
from training.live import with_lifecycle
from training.promotion import Decision, gate
from training.split import CutoffPlan, check_history, months_needed, plan_cutoffs
from training.tracking import (
    close_set,
    ensure_experiment,
    fail_unfinished_runs,
    flat_params,
    kill_point,
    log_bundle,
    log_evaluation_metrics,
    open_set,
    using_store,
)
from training.uplift.config import UpliftConfig, UpliftError
from training.uplift.job import UpliftResult, judge_uplift, log_uplift, train_uplift
from training.value_refs import with_value_references

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced: where it is logged, the versions and the gate's decisions."""

    run_id: str
    experiment_id: str
    tracking_uri: str
    versions: dict[str, str]  # registered model name -> version
    decisions: dict[str, Decision]
    trained: Trained
    steps: dict[str, float] = field(default_factory=dict)
    """Seconds per phase, as ``churn train -v`` prints them: features, churn model, value model,
    value refs, evaluation, uplift model, mlflow."""

    @property
    def evaluation(self) -> Evaluation:
        return self.trained.evaluation

    @property
    def test_frame(self) -> pd.DataFrame:
        return self.trained.split.test


def data_range(ds: Dataset) -> str:
    """The data's dates in words: first sign-up, first and last event, and the as-of date."""
    return data_range_note(ds).text("en")


def data_range_note(ds: Dataset) -> Note:
    """:func:`data_range` as a note."""
    times = [
        frame[TABLES[name].event_time]
        for name, frame in ds.tables.items()
        if TABLES[name].event_time in frame and frame[TABLES[name].event_time].notna().any()
    ]
    signup = ds.tables["customers"]["signup_date"].min()
    span = (
        note("data_events", first=min(t.min() for t in times), last=max(t.max() for t in times))
        if times
        else note("data_no_events")
    )
    first = note("data_signup", day=signup) if pd.notna(signup) else note("data_no_signup")
    return note("data_range", span=span, first=first, as_of=as_of_note(ds.as_of, ds.as_of_source))


CHURN_TEST_ARTIFACT = "evaluation/churn_test.csv"
"""The test cutoff's labels and the probabilities of the model and every baseline (the report
draws its gains and calibration plots from them in the reader's language)."""


def plan_for(ds: Dataset, features: FeatureConfig, cfg: TrainingConfig) -> CutoffPlan:
    """The time split of this data set: monthly cutoffs with complete label horizons.

    A history too short for the split raises :class:`training.split.HistoryError`, naming the
    data's range, the history needed and the horizons that would work.
    """
    h, n = features.labels.horizon_days, cfg.split.train_cutoffs
    k = cfg.selection.validation_cutoffs
    first = ds.tables["customers"]["signup_date"].min()
    if pd.notna(first):
        check_history(pd.Timestamp(first), ds.as_of, h, n, data_range_note(ds))
    candidates = monthly_cutoffs(ds, months_needed(h, n, k), h)
    return plan_cutoffs(candidates, h, n, k)


def train(
    ds: Dataset,
    cfg: TrainingConfig | None = None,
    features: FeatureConfig | None = None,
    *,
    tracking_uri: str | None = None,
    progress: bool = True,
    uplift: UpliftConfig | None = None,
    lang: Lang = "en",
) -> TrainResult:
    """Train, evaluate, log, register and gate both models (and the uplift model when the data
    has contacts); same data + config + seed give the same metrics. ``progress`` shows the steps
    and the gate's decisions on stderr, in ``lang``."""
    cfg = cfg or TrainingConfig()
    features = features or FeatureConfig()
    console = Console(stderr=True, quiet=not progress)
    status = console.status(note("status_planning").text(lang)) if progress else nullcontext()
    with status as st:

        def say(msg: Note) -> None:
            if st is not None:
                st.update(msg.text(lang))

        t0 = time.perf_counter()
        plan = plan_for(ds, features, cfg)
        if len(plan.train) < cfg.split.train_cutoffs:
            fit = note("train_cutoffs_fit", n=len(plan.train), wanted=cfg.split.train_cutoffs,
                       cutoffs=plan.describe()["train_cutoffs"], range=data_range_note(ds))  # fmt: skip
            console.print(fit.text(lang), highlight=False)
        say(note("status_features", n=len(plan.all)))
        frame = build_training_set(
            ds,
            plan.all,
            features,
            on_cutoff=lambda done, total: say(note("status_cutoffs", done=done, total=total)),
        )
        frame = with_lifecycle(frame, ds, plan.test, features, cfg.live)
        t1 = time.perf_counter()
        say(note("status_training", rows=len(frame)))
        fitted = fit_models(frame, plan, features, cfg)
        t_refs = time.perf_counter()
        trained = with_value_references(ds, fitted, cfg)
        t_uplift = time.perf_counter()
        uplift = uplift or UpliftConfig()
        lifted = None
        try:
            say(note("status_uplift"))
            lifted = train_uplift(ds, frame, trained, features, uplift, cfg.seed)
        except UpliftError as exc:
            console.print(note("no_uplift", reason=exc.said(lang)).text(lang), highlight=False)
        t2 = time.perf_counter()
        uri = resolve_uri(tracking_uri)
        say(note("status_mlflow", uri=uri))
        result = _log_and_register(trained, frame, features, cfg, uri, say, (lifted, uplift))
        steps = {
            "features": t1 - t0,
            **{f"{name} model" if name != "evaluation" else name: seconds
               for name, seconds in trained.timings.items()},
            "value refs": t_uplift - t_refs,
            "uplift model": t2 - t_uplift,
            "mlflow": time.perf_counter() - t2,
        }  # fmt: skip
        result = replace(result, steps=steps)
        log.info("training steps:\n%s", Phases(steps).table())
    for d in result.decisions.values():
        console.print(d.line(lang))
    return result


def _log_and_register(
    trained: Trained,
    frame: pd.DataFrame,
    features: FeatureConfig,
    cfg: TrainingConfig,
    uri: str,
    say: Callable[[Note], None],
    uplift: tuple[UpliftResult | None, UpliftConfig] = (None, UpliftConfig()),
) -> TrainResult:
    client = client_for(uri)
    with using_store(uri):
        exp_id = ensure_experiment(client, cfg.experiment, uri)
        for failed in fail_unfinished_runs(client, exp_id):
            log.warning(
                "training run %s was stopped before it registered all its models: marked FAILED "
                "(its versions cannot be loaded or promoted)",
                failed,
            )
        run_name = f"train test={trained.plan.test:%Y-%m-%d}"
        with mlflow.start_run(experiment_id=exp_id, run_name=run_name) as run:
            run_id = run.info.run_id
            _log_run(trained, frame, features, cfg)
            say(note("status_registering"))
            open_set()
            versions: dict[str, str] = {}
            bundles = {
                cfg.churn_model_name: trained.churn,
                cfg.value_model_name: trained.value,
            }
            example = trained.split.test.head(200)
            for name, bundle in bundles.items():
                tagged = replace(bundle, metadata={**bundle.metadata, "run_id": run_id})
                _, versions[name] = log_bundle(tagged, example, name)
                client.set_model_version_tag(name, versions[name], "run_id", run_id)
                client.set_model_version_tag(
                    name, versions[name], "test_cutoff", f"{trained.plan.test:%Y-%m-%d}"
                )
                kill_point(f"registered-{len(versions)}")
            lifted, up_cfg = uplift
            if lifted is not None:
                versions[up_cfg.model_name] = log_uplift(lifted, up_cfg, run_id, client)
            log_evaluation_metrics(trained.evaluation.churn, trained.evaluation.value)
            close_set()
            say(note("status_gate"))
            pair = {name: (versions[name], bundle) for name, bundle in bundles.items()}
            judged: dict[str, Decision] = {}
            if lifted is not None:
                name, version = up_cfg.model_name, versions[up_cfg.model_name]
                judged[name] = judge_uplift(uri, name, version, lifted, up_cfg)
            h, test = trained.plan.horizon_days, trained.split.test
            evaluated = {
                cfg.churn_model_name: trained.evaluated["churn"],
                cfg.value_model_name: trained.evaluated["value"],
            }
            decisions = gate(client, uri, pair, test, cfg, h, judged, evaluated)
            for name, d in decisions.items():
                mlflow.set_tag(f"gate.{name}", f"v{d.version} -> {d.outcome}")
                mlflow.set_tag(f"gate.{name}.reason", d.reason[:5000])
                mlflow.log_dict(d.to_dict(), f"promotion/{name}.json")
            gate_lines = {
                n: f"v{d.version} -> {d.outcome}: {d.reason}" for n, d in decisions.items()
            }
            card = model_card(trained, run_id=run_id, versions=versions, decisions=gate_lines)
            mlflow.log_text(card, "model_card.md")
    return TrainResult(run_id, exp_id, uri, versions, decisions, trained)


def _log_run(
    trained: Trained, frame: pd.DataFrame, features: FeatureConfig, cfg: TrainingConfig
) -> None:
    """Parameters, configs, features, label definition, evaluation tables and plots (the metrics
    are logged after the models)."""
    ev, plan = trained.evaluation, trained.plan
    params = {
        **flat_params("training", cfg.model_dump(mode="json")),
        **flat_params("features", features.model_dump(mode="json")),
        **plan.describe(),
        "rows.train": str(len(trained.split.train)),
        "rows.calibration": str(len(trained.split.calibration)),
        "rows.test": str(len(trained.split.test)),
        "churn.best_iteration": str(trained.churn_fit.best_iteration),
        "value.best_iteration": str(trained.value_fit.best_iteration),
    }
    mlflow.log_params(params)
    label = frame.attrs.get("label_definition", {})
    mlflow.set_tags(
        {
            "contract_version": CONTRACT_VERSION,
            "label_definition": (label.get("text") if isinstance(label, dict) else str(label))
            or "",
            "test_cutoff": f"{plan.test:%Y-%m-%d}",
        }
    )
    mlflow.log_dict(
        {"training": cfg.model_dump(mode="json"), "features": features.model_dump(mode="json")},
        "config.yaml",
    )
    mlflow.log_dict(
        {
            "features": list(trained.spec.names),
            "categories": {k: list(v) for k, v in trained.spec.categories.items()},
            "contract_version": CONTRACT_VERSION,
        },
        "features.json",
    )
    mlflow.log_text(json.dumps(label, indent=2, default=str), "label_definition.json")
    mlflow.log_text(to_csv_text(ev.table("churn"), index=True), "metrics/churn.csv")
    mlflow.log_text(to_csv_text(ev.table("value"), index=True), "metrics/value.csv")
    mlflow.log_text(to_csv_text(ev.churn_test), CHURN_TEST_ARTIFACT)
    _log_plots(trained, cfg)


def _log_plots(trained: Trained, cfg: TrainingConfig) -> None:
    ev = trained.evaluation
    ct, vt = ev.churn_test, ev.value_test
    y = ct["churned"].to_numpy(float)
    probs = {MODEL: ct["p_churn"].to_numpy()}
    probs.update(
        {
            c.removeprefix("p_"): ct[c].to_numpy()
            for c in ct
            if c.startswith("p_") and c != "p_churn"
        }
    )
    sample = trained.split.test.sample(
        min(cfg.shap_sample, len(trained.split.test)), random_state=cfg.seed
    )
    figures = {
        "plots/churn_feature_importance.png": plots.feature_importance(trained.churn),
        "plots/value_feature_importance.png": plots.feature_importance(trained.value),
        "plots/churn_calibration.png": plots.calibration_curve(y, probs, cfg.calibration_bins),
        "plots/churn_gains_lift.png": plots.gains_chart(y, probs),
        "plots/value_deciles.png": plots.value_decile_chart(
            vt["future_value"].to_numpy(),
            {MODEL: vt["value"].to_numpy(), "carry_forward": vt["carry_forward"].to_numpy()},
        ),
    }
    for path, fig in figures.items():
        mlflow.log_figure(fig, path)
    for kind, bundle in (("churn", trained.churn), ("value", trained.value)):
        mlflow.log_figure(plots.shap_summary(bundle, sample), f"plots/{kind}_shap_summary.png")
