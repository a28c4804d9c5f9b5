"""Value if retained vs the unconditional value model, on generated data against its hidden truth.

Both targets (``training.value.target``) are trained on the same data and time split. On the test
cutoff the script prints each model's error on the stayers' realised revenue, how well it ranks the
churners' true value (the truth's monthly value: a churner's realised revenue cannot show it), and
the share of the value lost to churn that the top of the list, P(churn) x value, catches.

    .venv/bin/churn generate --customers 10000 --seed 123 --out /tmp/g123
    .venv/bin/python benchmarks/value_if_retained.py /tmp/g123
"""

# ruff: noqa: E402 - the sys.path fix below must run before the project imports

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# Run as ``python benchmarks/value_if_retained.py``, this folder is first on sys.path and its
# ``features.py`` / ``training.py`` would shadow the project's packages.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from features.config import FeatureConfig
from features.loaders import load_dataset
from features.pipeline.build import build_training_set
from training.config import TrainingConfig
from training.fit import fit_models
from training.job import plan_for


def compare(data: str) -> tuple[str, pd.DataFrame]:
    """The test cutoff's figures of both value targets, one column each."""
    ds, features = load_dataset(data), FeatureConfig()
    truth = pd.read_parquet(f"{data}/_truth/customers.parquet").set_index("customer_id")
    months = features.labels.horizon_days / 30.4
    out: dict[str, dict[str, float]] = {}
    header = ""
    for target in ("unconditional", "if_retained"):
        base = TrainingConfig()
        cfg = base.model_copy(update={"value": base.value.model_copy(update={"target": target})})
        plan = plan_for(ds, features, cfg)
        trained = fit_models(build_training_set(ds, plan.all, features), plan, features, cfg)
        test = trained.split.test[trained.split.test["churned"].notna()]
        p, v = trained.churn.predict(test), trained.value.predict(test)
        y, revenue = test["churned"].to_numpy(), test["future_value"].to_numpy()
        stay = y == 0
        monthly = test["customer_id"].map(truth["final_monthly_value"]).to_numpy(float)
        lost = np.where(y == 1, monthly * months, 0.0)  # what each churner took away
        order = np.argsort(-(p * v))
        decile = len(order) // 10
        out[target] = {
            "MAE on the stayers' revenue": float(np.mean(np.abs(v[stay] - revenue[stay]))),
            "Spearman on the stayers' revenue": float(spearmanr(v[stay], revenue[stay]).statistic),
            "Spearman with the churners' true value": float(
                spearmanr(v[~stay], monthly[~stay]).statistic
            ),
            "lost value caught by the top 10% of P x V": float(
                lost[order[:decile]].sum() / lost.sum()
            ),
            "lost value caught by the top 200": float(lost[order[:200]].sum() / lost.sum()),
        }
        header = f"test cutoff {test['cutoff'].iloc[0]:%Y-%m-%d}: {len(test):,} customers, churn rate {y.mean():.3f}"
    return header, pd.DataFrame(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", help="A generated data folder (with _truth/).")
    header, table = compare(parser.parse_args().data)
    print(header)
    print(table.round(4).to_string())


if __name__ == "__main__":
    main()
