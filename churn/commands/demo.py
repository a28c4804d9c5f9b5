"""``churn demo``: the whole product end to end on generated data, printing where everything is.

Each numbered step is one function below; every file a step writes is added to ``outputs``
(label -> path), which the last step prints as a table.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from churn.commands._output import (
    CHURN_SHOWN,
    SCORECARD_CAPTION,
    VALUE_SHOWN,
    metrics_table,
    print_table,
    report_table,
    scorecard_table,
)
from core.paths import home

if TYPE_CHECKING:
    import pandas as pd

    from features.config import FeatureConfig
    from features.dataset import Dataset
    from kpi.config import KpiConfig
    from scoring.batch.job import BatchResult
    from scoring.config import ServingConfig
    from training.job import TrainResult

Outputs = dict[str, Path | str]

# wide enough for the scorecard table when the output is not a terminal (CI, a log file)
console = Console(width=None if Console().is_terminal else 160)


def _step(n: int, title: str) -> None:
    console.rule(f"[bold]{n}. {title}")


def generate_data(customers: int, seed: int, data_dir: Path, outputs: Outputs) -> Dataset:
    """Steps 1 and 2: generate the data set, then load it back through the data contract."""
    from features.loaders import load_dataset
    from features.synthetic.generator import TRUTH_DIR, generate, write_dataset

    _step(1, f"generate {customers:,} customers (seed {seed})")
    with console.status("generating"):
        generated = generate(customers, seed)
        write_dataset(generated, data_dir, "parquet")
    outputs["data set"] = data_dir
    outputs["hidden truth (never read by the product)"] = data_dir / TRUTH_DIR

    _step(2, "validate against the data contract")
    ds = load_dataset(data_dir)
    print_table(report_table(ds, f"{data_dir} (as of {ds.as_of:%Y-%m-%d})"), console)
    return ds


def build_demo_features(
    ds: Dataset, asof: pd.Timestamp, cfg: FeatureConfig, root: Path, outputs: Outputs
) -> None:
    """Step 3: point-in-time features of the active customers at the as-of date, to Parquet."""
    from features.feature_io import write_features
    from features.pipeline.build import build_features

    _step(3, f"point-in-time features at {asof:%Y-%m-%d}")
    with console.status("building features"):
        frame = build_features(ds, asof, cfg, labels=False)
    outputs["features"] = write_features(frame, root / f"features_{asof:%Y-%m-%d}.parquet")
    console.print(f"{len(frame):,} active customers x {len(frame.attrs['feature_names'])} features")
    for note in frame.attrs.get("notes", []):
        console.print(f"  note: {note}")


def train_models(ds: Dataset, cfg: FeatureConfig, outputs: Outputs) -> TrainResult:
    """Step 4: train, evaluate, register and gate the churn and value models."""
    from training.config import TrainingConfig
    from training.job import train

    _step(4, "train, evaluate and register the churn and value models")
    result = train(ds, TrainingConfig(), cfg, progress=True)
    print_table(metrics_table(result.evaluation, "churn", CHURN_SHOWN), console)
    print_table(metrics_table(result.evaluation, "value", VALUE_SHOWN), console)
    for name, decision in result.decisions.items():
        console.print(f"  {name} v{result.versions[name]}: {decision}")
    outputs["MLflow tracking store"] = result.tracking_uri
    return result


def score_batches(
    data_dir: Path,
    period_start: pd.Timestamp,
    asof: pd.Timestamp,
    cfg: ServingConfig,
    outputs: Outputs,
) -> tuple[BatchResult, BatchResult]:
    """Step 5: batch scoring at the period start (for the KPIs) and at the as-of date."""
    from features.loaders import load_dataset
    from scoring.batch.job import run_batch

    _step(5, f"batch scoring at {period_start:%Y-%m-%d} (period start) and {asof:%Y-%m-%d}")
    with console.status("scoring"):
        ds, source = load_dataset(data_dir), str(data_dir.resolve())
        start_run = run_batch(ds, period_start, cfg, source)
        now_run = run_batch(ds, asof, cfg, source)
    outputs["prediction store"] = now_run.store
    outputs["at-risk list"] = now_run.csv
    outputs["win-back list"] = now_run.win_back_csv
    top = now_run.lists["at_risk"].head(5)
    console.print(top[["customer_id", "lifecycle_status", "churn_probability_90d",
                       "expected_value_at_risk_90d", "risk_band",
                       "recommended_action"]].to_string(index=False))  # fmt: skip
    return start_run, now_run


def write_scorecards(
    ds: Dataset,
    start_run: BatchResult,
    period: str,
    kpi_cfg: KpiConfig,
    root: Path,
    outputs: Outputs,
) -> None:
    """Step 6: the month's KPI scorecards from the predictions made at its start, to CSV."""
    from kpi.scorecard import scorecard

    _step(6, f"KPI scorecards for {period}")
    cards = scorecard(ds, start_run.batch.predictions, period, kpi_cfg)
    managers = cards[cards["level"] == "manager"].sort_values(["rank", "account_manager_id"])
    print_table(
        scorecard_table(managers, f"Account managers, {period}", SCORECARD_CAPTION), console
    )
    outputs["scorecards"] = root / f"scorecards_{period}.csv"
    from core.csv_out import write_csv

    write_csv(cards, outputs["scorecards"])


def _reasons(features: pd.DataFrame, bundle, ids: pd.Series, k: int = 3) -> list[str]:
    """Top-k risk-raising reasons of the given customers, in the order of ``ids``."""
    from scoring.reasons import risk_reason_text

    return risk_reason_text(features.set_index("customer_id").loc[ids.to_numpy()], bundle, k, "en")


def write_campaign(
    ds: Dataset,
    now_run: BatchResult,
    asof: pd.Timestamp,
    kpi_cfg: KpiConfig,
    root: Path,
    outputs: Outputs,
) -> None:
    """Step 7: the retention campaign list with reasons, against choosing by probability."""
    from kpi.campaign import campaign_candidates, select_by_probability, select_campaign

    _step(7, "retention campaign list")
    candidates = campaign_candidates(ds, now_run.batch.predictions, asof, kpi_cfg.outcome)
    c = kpi_cfg.campaign
    chosen = select_campaign(candidates, c.capacity_per_manager, c.cost_per_contact, c.success_rate)
    naive = select_by_probability(
        candidates, c.capacity_per_manager, c.cost_per_contact, c.success_rate
    )
    chosen["reasons"] = _reasons(
        now_run.batch.features, now_run.batch.champions.churn, chosen["customer_id"]
    )
    outputs["campaign list"] = root / f"campaign_{asof:%Y-%m-%d}.csv"
    from core.csv_out import write_csv

    write_csv(chosen, outputs["campaign list"])
    console.print(
        f"{len(chosen):,} contacts; expected saved value {chosen['expected_saved_value'].sum():,.0f}"
        f" against {naive['expected_saved_value'].sum():,.0f} by highest probability"
    )


def write_html_report(
    serving_cfg: ServingConfig,
    kpi_cfg: KpiConfig,
    asof: pd.Timestamp,
    data_dir: Path,
    period: str,
    root: Path,
    outputs: Outputs,
) -> None:
    """Step 8: the self-contained HTML report for analysts."""
    from reports.html import write_report
    from reports.inputs import gather_report_inputs

    _step(8, "HTML report for analysts")
    with console.status("writing the report"):
        inputs = gather_report_inputs(
            serving_cfg, kpi_cfg, asof=f"{asof:%Y-%m-%d}", data=data_dir, period=period
        )
        outputs["report"] = write_report(inputs, root / "report.html")


def write_sample_record(now_run: BatchResult, root: Path, outputs: Outputs) -> dict:
    """One customer's features as the API expects them, written to ``record.json``."""
    import pandas as pd

    names = ["customer_id", *now_run.batch.champions.feature_names]
    row = now_run.batch.features[names].head(1).astype(object)
    record = {k: (None if pd.isna(v) else v) for k, v in row.iloc[0].items()}
    outputs["sample API record"] = root / "record.json"
    (root / "record.json").write_text(json.dumps(record, default=float), encoding="utf-8")
    return record


def print_where_everything_is(
    outputs: Outputs, tracking_uri: str, record: dict, root: Path
) -> None:
    """Step 9: every output and how to browse the runs, start the API and call it."""
    _step(9, "where everything is")
    table = Table(show_header=False)
    for what, where in outputs.items():
        table.add_row(what, str(where))
    print_table(table, console)
    console.print(f"browse the runs:  .venv/bin/mlflow ui --backend-store-uri {tracking_uri}")
    console.print("start the API:    .venv/bin/churn serve")
    console.print(
        "sample requests:  curl -X POST http://127.0.0.1:3000/predict_by_id "
        f"-H 'Content-Type: application/json' -d '{{\"customer_ids\": [\"{record['customer_id']}\"]}}'"
    )
    console.print(
        "                  curl -X POST http://127.0.0.1:3000/predict "
        f'-H \'Content-Type: application/json\' -d "{{\\"records\\": [$(cat {root / "record.json"})]}}"'
    )
    console.print("open the workspace (whom to call first), after `.venv/bin/churn serve`:")
    console.print(
        "                  http://127.0.0.1:3000/ui/   (API docs: http://127.0.0.1:3000/docs)"
    )


def demo(
    customers: int = typer.Option(4000, "--customers", min=200, help="Generated customers."),
    seed: int = typer.Option(7, help="Random seed of the generated data and the models."),
    out: Path | None = typer.Option(None, help="Output folder (default: $CHURN_HOME/demo-run)."),
) -> None:
    """Generate data, validate it, build features, train and register both models, batch
    score, compute the month's KPI scorecards and a campaign list, and write the HTML report."""
    from features.config import FeatureConfig
    from kpi.config import load_kpi_config
    from kpi.periods import latest_complete_month
    from scoring.config import load_serving_config

    root = out or home() / "demo-run"
    data_dir = root / "data"
    outputs: Outputs = {}

    ds = generate_data(customers, seed, data_dir, outputs)
    feature_cfg = FeatureConfig()
    asof = ds.as_of.normalize()
    build_demo_features(ds, asof, feature_cfg, root, outputs)
    result = train_models(ds, feature_cfg, outputs)

    kpi_cfg = load_kpi_config(None)
    period_start = latest_complete_month(asof, kpi_cfg.outcome.horizon_days)
    period = f"{period_start:%Y-%m}"
    serving_cfg = load_serving_config()
    start_run, now_run = score_batches(data_dir, period_start, asof, serving_cfg, outputs)
    write_scorecards(ds, start_run, period, kpi_cfg, root, outputs)
    write_campaign(ds, now_run, asof, kpi_cfg, root, outputs)
    write_html_report(serving_cfg, kpi_cfg, asof, data_dir, period, root, outputs)
    record = write_sample_record(now_run, root, outputs)
    print_where_everything_is(outputs, result.tracking_uri, record, root)


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the ``churn`` app."""
    app.command("demo")(demo)
