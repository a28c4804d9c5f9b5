"""The first page of the workspace by hidden truth: does it show whom to call first?

On a generated data set (``churn generate`` writes the truth under ``_truth/``), after ``churn
train`` and ``churn score``, the script reads the at-risk list from the store as ``/ui/`` shows it
with default settings (by the expected benefit of a contact) and compares its first 20 rows with
the 20 of today's former order (highest expected value at risk), the 20 with the highest
P(churn) of the same list, and the 20 the benefit would put first if it used the uplift
champion's effects (``serving.lists.benefit_effect: uplift``):

- how many of them had already churned by the as-of date (the truth's ``churn_date``);
- the true value a contact saves: the truth's ``treatment_effect`` (the drop in the probability
  of churning within the horizon if contacted) x the true value over the horizon
  (``final_monthly_value`` x horizon / 30.4 days); customers without an effect count 0.

    .venv/bin/python benchmarks/first_page.py --seed 11 --work /tmp/first_page

runs the three commands in ``WORK/seed<seed>`` (``CHURN_HOME`` there; nothing is written
elsewhere) unless ``--no-run`` reuses what an earlier run left.
"""

# ruff: noqa: E402 - the sys.path fix below must run before the project imports

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

# Run as ``python benchmarks/first_page.py``, this folder is first on sys.path and its
# ``features.py`` / ``training.py`` would shadow the project's packages.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import numpy as np
import pandas as pd

from features.loaders import load_dataset
from scoring.benefit import contact_benefit, horizon_value
from scoring.lists import AT_RISK, LIST_LIFECYCLES
from scoring.store.predictions import PredictionStore
from scoring.store.workspace import ListSelection, list_rows

FIRST_PAGE = 20
ROOT = _HERE.parent


def run_pipeline(seed: int, customers: int, work: Path) -> None:
    """``churn generate``, ``churn train`` and ``churn score`` in ``work`` (its own home)."""
    env = {**os.environ, "CHURN_HOME": str(work / "home"), "PYTHONPATH": str(ROOT)}
    data = work / "data"
    churn = [sys.executable, "-m", "churn"]
    steps = [
        ["generate", "--customers", str(customers), "--seed", str(seed), "--out", str(data)],
        ["train", "--data", str(data)],
        ["score", "--data", str(data), "--top", "0"],
    ]
    for step in steps:
        print("$ churn", " ".join(step), flush=True)
        subprocess.run([*churn, *step], env=env, cwd=work, check=True, stdout=subprocess.DEVNULL)


def first_page(work: Path) -> pd.DataFrame:
    """Per ordering, the first page's already-churned count and true value saved by a contact."""
    truth = pd.read_parquet(work / "data" / "_truth" / "customers.parquet")
    truth = truth.set_index(truth["customer_id"].astype(str))
    store = PredictionStore(f"sqlite:///{work / 'home' / 'serving.db'}")
    try:
        run, _, rows = list_rows(
            store, ListSelection(lifecycle=LIST_LIFECYCLES[AT_RISK], sort="benefit", limit=None)
        )
        _, stored = store.features_for(list(rows["customer_id"].astype(str)), run.asof)
    finally:
        store.close()
    asof = pd.Timestamp(run.asof)
    ids = rows["customer_id"].astype(str)
    months = run.horizon_days / 30.4
    churned = truth["churn_date"].reindex(ids).le(asof).to_numpy()
    effect = truth["treatment_effect"].reindex(ids).fillna(0.0).to_numpy()
    value = truth["final_monthly_value"].reindex(ids).to_numpy() * months
    stored = stored.set_index(stored["customer_id"].astype(str)).reindex(ids)
    uplift = _uplift_benefit(work, rows, asof, horizon_value(stored, run.horizon_days))
    frame = pd.DataFrame(
        {
            "benefit": pd.to_numeric(rows["benefit"]).to_numpy(),
            "value_at_risk": pd.to_numeric(rows["expected_value_at_risk"]).to_numpy(),
            "probability": pd.to_numeric(rows["churn_probability"]).to_numpy(),
            "churned": churned,
            "saved": effect * value,
            "saved_predicted_value": effect * pd.to_numeric(rows["predicted_value"]).to_numpy(),
            "band": rows["risk_band"].to_numpy(),
            "uplift_benefit": uplift.to_numpy(),
        }
    )
    out = {}
    for name, order in (
        ("/ui/ default (benefit)", frame.index),  # the store's order, as the page shows it
        ("expected value at risk", frame["value_at_risk"].sort_values(ascending=False).index),
        ("P(churn)", frame["probability"].sort_values(ascending=False).index),
        ("benefit with uplift", frame["uplift_benefit"].sort_values(ascending=False).index),
    ):
        top = frame.loc[order[:FIRST_PAGE]]
        out[name] = {
            "already churned": int(top["churned"].sum()),
            "true value saved": round(float(top["saved"].sum()), 1),
            "same, x predicted value": round(float(top["saved_predicted_value"].sum()), 1),
            "high band": int((top["band"] == "high").sum()),
            "low band": int((top["band"] == "low").sum()),
        }
    table = pd.DataFrame(out)
    base = table.loc["true value saved"]
    table.loc["vs value at risk"] = (base / base["expected value at risk"]).round(2)
    table.loc["vs P(churn)"] = (base / base["P(churn)"]).round(2)
    print(f"as of {run.asof}: {len(rows):,} customers on the at-risk list; first {FIRST_PAGE}:")
    return table


def _uplift_benefit(
    work: Path, rows: pd.DataFrame, asof: pd.Timestamp, value: np.ndarray
) -> pd.Series:
    """The benefit of each listed row priced with the uplift champion's effects and the value
    over the horizon the list uses (NaN: no uplift champion)."""
    from core.uplift import UpliftError
    from scoring.uplift import champion_uplift

    ds = load_dataset(work / "data")
    try:
        effects, _ = champion_uplift(ds, asof, f"sqlite:///{work / 'home' / 'mlflow.db'}")
    except UpliftError:
        return pd.Series(float("nan"), index=rows.index)
    keyed = effects.set_index("customer_id")["uplift"]
    frame = rows.assign(
        churn_probability=pd.to_numeric(rows["churn_probability"]),
        predicted_value=pd.to_numeric(rows["predicted_value"]),
    )
    return pd.Series(contact_benefit(frame, None, keyed, value), index=rows.index)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/first_page"))
    parser.add_argument("--no-run", action="store_true", help="Reuse WORK/seed<seed>.")
    args = parser.parse_args()
    work = (args.work / f"seed{args.seed}").resolve()
    work.mkdir(parents=True, exist_ok=True)
    if not args.no_run:
        run_pipeline(args.seed, args.customers, work)
    print(first_page(work).to_string())


if __name__ == "__main__":
    main()
