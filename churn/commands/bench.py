"""``churn import`` (adapt a real export) and ``churn bench`` (the real-data benchmark suite)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from features.adapters.importer import ADAPTERS, import_to_folder
from features.adapters.snapshot import SnapshotData

console = Console()


def _import_table(data: object) -> Table:
    table = Table(title="import")
    for col in ("table", "read", "accepted", "rejected"):
        table.add_column(col, justify="left" if col == "table" else "right")
    reports = [data.report] if isinstance(data, SnapshotData) else list(data.reports.values())
    for r in reports:
        table.add_row(r.table, f"{r.read:,}", f"{r.accepted:,}", f"{r.rejected:,}")
    return table


def register(app: typer.Typer) -> None:
    @app.command("import")
    def import_data(
        name: str = typer.Argument(..., help=f"Adapter: one of {', '.join(ADAPTERS)}."),
        path: Path = typer.Argument(..., help="The export: its file, or the folder holding it."),
        out: Path = typer.Option(..., "--out", help="Folder to write the adapted data into."),
    ) -> None:
        """Adapt a real export into the product's inputs (see docs/adapters.md).

        Event logs become a contract data folder (customers.csv, transactions.csv, dataset.yaml)
        for `churn validate`, `churn features` and `churn train`; snapshots become
        snapshot.parquet + snapshot.yaml for the snapshot mode. Bad rows go to rejects/.
        """
        with console.status(f"importing {path} with the {name} adapter"):
            data, written = import_to_folder(name, path, out)
        console.print(_import_table(data))
        for note in getattr(data, "notes", ()):
            console.print(f"  note: {note}")
        for p in written:
            console.print(f"wrote {p}")

    @app.command()
    def bench(
        data_root: Path = typer.Option(
            Path("../shared/data"), help="Folder holding one sub-folder per data set."
        ),
        only: str | None = typer.Option(None, help=f"Run one data set: {', '.join(ADAPTERS)}."),
        out: Path = typer.Option(Path("docs/benchmarks.md"), help="Markdown report to write."),
        config: Path | None = typer.Option(
            None, "--config", help="YAML file; reads its features:, training: and bench: sections."
        ),
    ) -> None:
        """Run the real-data benchmarks and write the report (docs/benchmarks.md)."""
        from training.bench.markdown import render
        from training.bench.suite import (
            cached_results,
            load_bench_config,
            run_bench,
            save_results,
        )
        from training.config import load_feature_config, load_training_config

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
        table = Table(title="churn ROC-AUC")
        for col in ("data set", "ours", "best baseline", "targets met"):
            table.add_column(col)
        for r in results:
            others = {k: v["roc_auc"] for k, v in r["churn"].items() if k != "lightgbm"}
            best = max(others, key=others.get)
            met = sum(t["met"] for t in r["targets"])
            table.add_row(
                r["name"],
                f"{r['churn']['lightgbm']['roc_auc']:.4f}",
                f"{best} {others[best]:.4f}",
                f"{met}/{len(r['targets'])}",
            )
        console.print(table)
        for s in skipped:
            console.print(f"skipped {s}")
        console.print(f"wrote {out}")
