"""``churn bench``: run the real-data benchmark suite and rewrite docs/benchmarks.md."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from churn.commands._options import ADAPTER_NAMES

console = Console()


def results_table(results: list[dict]) -> Table:
    """Churn ROC-AUC of our model against the best baseline, and targets met, per data set."""
    table = Table(title="churn ROC-AUC")
    for col in ("data set", "ours", "best baseline", "targets met"):
        table.add_column(col)
    for r in results:
        others = {k: v["roc_auc"] for k, v in r["churn"].items() if k != "lightgbm"}
        best = max(others, key=others.__getitem__)
        met = sum(t["met"] for t in r["targets"])
        table.add_row(
            r["name"],
            f"{r['churn']['lightgbm']['roc_auc']:.4f}",
            f"{best} {others[best]:.4f}",
            f"{met}/{len(r['targets'])}",
        )
    return table


def bench(
    data_root: Path = typer.Option(
        Path("../shared/data"), help="Folder holding one sub-folder per data set."
    ),
    only: str | None = typer.Option(None, help=f"Run one data set: {', '.join(ADAPTER_NAMES)}."),
    out: Path = typer.Option(Path("docs/benchmarks.md"), help="Markdown report to write."),
    config: Path | None = typer.Option(
        None, "--config", help="YAML file; reads its features:, training: and bench: sections."
    ),
) -> None:
    """Run the real-data benchmarks and write the report (docs/benchmarks.md)."""
    from features.adapters.importer import ADAPTERS
    from features.config import load_feature_config
    from training.bench.markdown import render
    from training.bench.suite import cached_results, load_bench_config, run_bench, save_results
    from training.config import load_training_config

    cfg = load_training_config(config)
    features = load_feature_config(config)
    bench_cfg = load_bench_config(config)
    with console.status("benchmarking") as status:
        results, skipped = run_bench(
            data_root,
            only,
            cfg,
            features,
            bench_cfg,
            on_start=lambda n: status.update(f"benchmarking {n}"),
        )
    save_results(results)
    cached = cached_results()
    fresh = {r["name"]: r for r in results}
    ordered = [fresh.get(n) or cached[n] for n in ADAPTERS if n in fresh or n in cached]
    missing = [
        f"{n}: no result yet (run `churn bench --only {n}`)"
        for n in ADAPTERS
        if n not in fresh and n not in cached
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(ordered, missing + skipped), encoding="utf-8")
    console.print(results_table(results))
    for s in skipped:
        console.print(f"skipped {s}")
    console.print(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add ``bench`` to the ``churn`` app."""
    app.command("bench")(bench)
