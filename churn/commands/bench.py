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


def user_table(results: list[dict]) -> Table:
    """The product against each reference on the user's path, one row per data set and scorer."""
    table = Table(title="the product as a user runs it")
    for col in ("data set", "scorer", "ROC-AUC", "product - it [95%]", "lost value, first 10%"):
        table.add_column(col)
    for r in results:
        label = r["name"] + (f" @ {r['as_of']}" if "as_of" in r else "")
        cap = list((r.get("lost_value_capture") or {}).values())
        for i, (scorer, auc) in enumerate(r["roc_auc"].items()):
            d = r["ours_minus"].get(scorer)
            diff = f"{d['diff']:+.4f} [{d['lo']:+.4f}, {d['hi']:+.4f}]" if d else ""
            name = f"{scorer}: {r['registered']}" if i == 0 else scorer
            lost = f"{cap[0]:.3f} (P x V)" if i == 0 and cap else ""
            lost = f"{cap[1]:.3f} (R x M)" if i == 1 and cap else lost
            table.add_row(label if i == 0 else "", name, f"{auc:.4f}", diff, lost)
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
    protocol: str = typer.Option(
        "all",
        help="user: every data set as a user runs it (train to an as-of date, score after it; "
        "snapshots on a 30% holdout); cv: the cross-validated protocols; all: both.",
    ),
    specs: Path = typer.Option(
        Path("docs/examples/specs"), help="Mapping specs of data sets without a shipped adapter."
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="User protocol: score purchase logs at this date (YYYY-MM-DD)."
    ),
) -> None:
    """Run the real-data benchmarks and write the report (docs/benchmarks.md)."""
    from core.errors import ChurnError
    from features.adapters.importer import ADAPTERS
    from features.config import load_feature_config
    from training.bench.markdown import render
    from training.bench.suite import (
        cache_dir,
        cached_results,
        load_bench_config,
        run_bench,
        save_results,
    )
    from training.bench.user_markdown import section
    from training.bench.user_path import Settings, run_user_path, save
    from training.bench.user_path import cached as cached_user
    from training.config import load_training_config

    if protocol not in ("all", "cv", "user"):
        raise typer.BadParameter("--protocol must be all, cv or user")
    cfg = load_training_config(config)
    features = load_feature_config(config)
    bench_cfg = load_bench_config(config)
    threads = cfg.model_copy(update={"num_threads": bench_cfg.num_threads})
    results: list[dict] = []
    skipped: list[str] = []
    user_skipped: list[str] = []
    with console.status("benchmarking") as status:
        if protocol in ("all", "user"):
            user, user_skipped = run_user_path(
                data_root,
                specs,
                only,
                threads,
                features,
                Settings(),
                as_of,
                on_start=lambda n: status.update(f"benchmarking {n} as a user runs it"),
            )
            save(user, cache_dir())
            console.print(user_table(user))
        if protocol in ("all", "cv") and (not only or only in ADAPTERS):
            try:
                results, skipped = run_bench(
                    data_root,
                    only,
                    cfg,
                    features,
                    bench_cfg,
                    on_start=lambda n: status.update(f"benchmarking {n}"),
                )
            except ChurnError:
                if protocol == "cv":
                    raise
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
    user_lines = section(cached_user(cache_dir()), user_skipped)
    out.write_text(render(ordered, missing + skipped, user_lines), encoding="utf-8")
    if results:
        console.print(results_table(results))
    for s in skipped:
        console.print(f"skipped {s}")
    console.print(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add ``bench`` to the ``churn`` app."""
    app.command("bench")(bench)
