"""``churn demo``: the whole product end to end on generated data, printing where everything is."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from core.paths import home

# wide enough for the scorecard table when the output is not a terminal (CI, a log file)
console = Console(width=None if Console().is_terminal else 160)


def _step(n: int, title: str) -> None:
    console.rule(f"[bold]{n}. {title}")


def _reasons(features: pd.DataFrame, bundle, ids: pd.Series, k: int = 3) -> list[str]:
    """Top-k risk-raising reasons of the given customers, in the order of ``ids``."""
    from serving.reasons import risk_reason_text

    return risk_reason_text(features.set_index("customer_id").loc[ids.to_numpy()], bundle, k, "en")


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        customers: int = typer.Option(4000, "--customers", min=200, help="Generated customers."),
        seed: int = typer.Option(7, help="Random seed of the generated data and the models."),
        out: Path | None = typer.Option(
            None, help="Output folder (default: $CHURN_HOME/demo-run)."
        ),
    ) -> None:
        """Generate data, validate it, build features, train and register both models, batch
        score, compute the month's KPI scorecards and a campaign list, and write the HTML report."""
        from churn.commands.data import report_table
        from churn.commands.kpi import CAPTION, scorecard_table
        from churn.commands.train import CHURN_SHOWN, VALUE_SHOWN, metrics_table
        from features.config import FeatureConfig
        from features.feature_io import write_features
        from features.loaders import load_dataset
        from features.pipeline.build import build_features
        from features.synthetic.generator import TRUTH_DIR, generate, write_dataset
        from kpi.campaign import campaign_candidates, select_by_probability, select_campaign
        from kpi.config import load_kpi_config
        from kpi.scorecard import scorecard
        from reports.html import write_report
        from reports.inputs import gather_report_inputs
        from serving.batch.job import run_batch
        from serving.config import load_serving_config
        from training.config import TrainingConfig
        from training.job import train

        root = out or home() / "demo-run"
        data_dir = root / "data"
        outputs: dict[str, Path | str] = {}

        _step(1, f"generate {customers:,} customers (seed {seed})")
        with console.status("generating"):
            generated = generate(customers, seed)
            write_dataset(generated, data_dir, "parquet")
        outputs["data set"] = data_dir
        outputs["hidden truth (never read by the product)"] = data_dir / TRUTH_DIR

        _step(2, "validate against the data contract")
        ds = load_dataset(data_dir)
        console.print(report_table(ds, f"{data_dir} (as of {ds.as_of:%Y-%m-%d})"))

        feature_cfg = FeatureConfig()
        asof = ds.as_of.normalize()
        _step(3, f"point-in-time features at {asof:%Y-%m-%d}")
        with console.status("building features"):
            frame = build_features(ds, asof, feature_cfg, labels=False)
        outputs["features"] = write_features(frame, root / f"features_{asof:%Y-%m-%d}.parquet")
        console.print(
            f"{len(frame):,} active customers x {len(frame.attrs['feature_names'])} features"
        )
        for note in frame.attrs.get("notes", []):
            console.print(f"  note: {note}")

        _step(4, "train, evaluate and register the churn and value models")
        result = train(ds, TrainingConfig(), feature_cfg, progress=True)
        console.print(metrics_table(result.evaluation, "churn", CHURN_SHOWN))
        console.print(metrics_table(result.evaluation, "value", VALUE_SHOWN))
        for name, decision in result.decisions.items():
            console.print(f"  {name} v{result.versions[name]}: {decision}")
        outputs["MLflow tracking store"] = result.tracking_uri

        period_start = asof.replace(day=1)
        period = f"{period_start:%Y-%m}"
        serving_cfg = load_serving_config()
        _step(5, f"batch scoring at {period_start:%Y-%m-%d} (period start) and {asof:%Y-%m-%d}")
        with console.status("scoring"):
            start_run = run_batch(data_dir, f"{period_start:%Y-%m-%d}", serving_cfg, say=None)
            now_run = run_batch(data_dir, f"{asof:%Y-%m-%d}", serving_cfg, say=None)
        outputs["prediction store"] = now_run.store
        outputs["at-risk list"] = now_run.csv
        top = now_run.batch.predictions.head(5)
        console.print(top[["customer_id", "churn_probability", "predicted_value",
                           "expected_value_at_risk", "risk_band"]].to_string(index=False))  # fmt: skip

        _step(6, f"KPI scorecards for {period}")
        kpi_cfg = load_kpi_config(None)
        preds = start_run.batch.predictions
        cards = scorecard(ds, preds, period, kpi_cfg)
        managers = cards[cards["level"] == "manager"].sort_values(["rank", "account_manager_id"])
        console.print(scorecard_table(managers, f"Account managers, {period}", CAPTION))
        outputs["scorecards"] = root / f"scorecards_{period}.csv"
        cards.to_csv(outputs["scorecards"], index=False)

        _step(7, "retention campaign list")
        current = now_run.batch.predictions
        candidates = campaign_candidates(ds, current, asof, kpi_cfg.outcome)
        c = kpi_cfg.campaign
        chosen = select_campaign(
            candidates, c.capacity_per_manager, c.cost_per_contact, c.success_rate
        )
        naive = select_by_probability(
            candidates, c.capacity_per_manager, c.cost_per_contact, c.success_rate
        )
        chosen["reasons"] = _reasons(
            now_run.batch.features, now_run.batch.champions.churn, chosen["customer_id"]
        )
        outputs["campaign list"] = root / f"campaign_{asof:%Y-%m-%d}.csv"
        chosen.to_csv(outputs["campaign list"], index=False)
        console.print(
            f"{len(chosen):,} contacts; expected saved value {chosen['expected_saved_value'].sum():,.0f}"
            f" against {naive['expected_saved_value'].sum():,.0f} by highest probability"
        )

        _step(8, "HTML report for analysts")
        with console.status("writing the report"):
            inputs = gather_report_inputs(
                serving_cfg, kpi_cfg, asof=f"{asof:%Y-%m-%d}", data=data_dir, period=period
            )
            outputs["report"] = write_report(inputs, root / "report.html")

        names = ["customer_id", *now_run.batch.champions.feature_names]
        row = now_run.batch.features[names].head(1).astype(object)
        record = {k: (None if pd.isna(v) else v) for k, v in row.iloc[0].items()}
        outputs["sample API record"] = root / "record.json"
        (root / "record.json").write_text(json.dumps(record, default=float), encoding="utf-8")

        _step(9, "where everything is")
        table = Table(show_header=False)
        for what, where in outputs.items():
            table.add_row(what, str(where))
        console.print(table)
        console.print(
            f"browse the runs:  .venv/bin/mlflow ui --backend-store-uri {result.tracking_uri}"
        )
        console.print("start the API:    .venv/bin/churn serve")
        console.print(
            "sample requests:  curl -X POST http://127.0.0.1:3000/predict_by_id "
            f"-H 'Content-Type: application/json' -d '{{\"customer_ids\": [\"{record['customer_id']}\"]}}'"
        )
        console.print(
            "                  curl -X POST http://127.0.0.1:3000/predict "
            f'-H \'Content-Type: application/json\' -d "{{\\"records\\": [$(cat {root / "record.json"})]}}"'
        )
