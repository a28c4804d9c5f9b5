"""What a retention contact did, read from the ``contacts`` table's logged campaigns: per group of
customers (their plan, by default), the share of would-be churners a contact kept.

Each logged row old enough to have a full horizon after it (treated or a control row) is judged
the way the product's label judges churn: a contractual customer churned when the contract was
cancelled within the horizon after the row, a non-contractual one when they bought nothing in it.
A group's effect is the relative drop in that churn rate between its control and treated rows,
``1 - churn(treated) / churn(control)``, both rates pulled towards the book's pooled rates by
``prior_rows`` rows (small groups say little on their own) and the effect clipped to [0, 1]: a
contact cannot keep more than every would-be churner, and a group it seemed to harm is left
alone rather than priced below zero.

Only data a deployment has at the as-of date is read: contacts, cancellations and purchases
before it. ``None`` when the log is too thin (fewer than ``min_rows`` rows in either arm).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

POOLED = "(all)"
"""The group name of the whole book's row in :class:`ContactEffects`."""


@dataclass(frozen=True)
class ContactEffects:
    """Per group: rows and churn rates of each arm, and the effect of a contact."""

    table: pd.DataFrame
    """Indexed by group (and :data:`POOLED`): ``control_rows``, ``treated_rows``,
    ``control_churn``, ``treated_churn`` (pulled towards the pooled rates) and ``effect``."""

    def effect(self, groups: pd.Series) -> np.ndarray:
        """Each customer's effect by their group (a group the log lacks: the pooled effect)."""
        pooled = float(self.table.loc[POOLED, "effect"])
        return groups.astype(object).map(self.table["effect"]).fillna(pooled).to_numpy(float)


def churned_after(
    contacts: pd.DataFrame,
    transactions: pd.DataFrame,
    cancelled: pd.Series,
    contractual: pd.Series,
    horizon_days: int,
) -> np.ndarray:
    """Whether each row of ``contacts`` (``customer_id``, ``ts``) was followed by churn within
    ``horizon_days``: a cancellation (``cancelled`` by customer id) for a ``contractual``
    customer, else no purchase (refunds aside) in the window."""
    ids = contacts["customer_id"].astype(str)
    ts = pd.to_datetime(contacts["ts"]).astype("datetime64[ns]")
    end = ts + pd.Timedelta(days=horizon_days)
    when = pd.to_datetime(cancelled.reindex(ids.to_numpy())).astype("datetime64[ns]").to_numpy()
    cancel = (when > ts.to_numpy()) & (when <= end.to_numpy())
    bought = transactions.loc[
        pd.to_numeric(transactions["amount"], errors="coerce").fillna(0).to_numpy() > 0,
        ["customer_id", "ts"],
    ]
    bought = bought.assign(
        customer_id=bought["customer_id"].astype(str),
        ts=pd.to_datetime(bought["ts"]).astype("datetime64[ns]"),
    ).sort_values("ts")
    rows = pd.DataFrame({"customer_id": ids.to_numpy(), "ts": ts.to_numpy(), "i": range(len(ids))})
    after = pd.merge_asof(
        rows.sort_values("ts"),
        bought.rename(columns={"ts": "next_purchase"}),
        left_on="ts",
        right_on="next_purchase",
        by="customer_id",
        direction="forward",
        allow_exact_matches=False,
    ).set_index("i")["next_purchase"]
    nxt = after.reindex(range(len(ids))).to_numpy()
    silent = ~(nxt <= end.to_numpy())
    is_contractual = contractual.reindex(ids.to_numpy()).fillna(False).to_numpy(dtype=bool)
    return np.where(is_contractual, cancel, silent)


def contact_effects(
    contacts: pd.DataFrame,
    churned: np.ndarray,
    groups: pd.Series,
    prior_rows: float = 200.0,
    min_rows: int = 100,
) -> ContactEffects | None:
    """The effect of a contact per group from judged ``contacts`` rows (``treated`` 0/1,
    ``churned`` as :func:`churned_after` gives; ``groups`` by row); None below ``min_rows``
    rows in either arm."""
    treated = pd.to_numeric(contacts["treated"], errors="coerce").to_numpy()
    keep = ~np.isnan(treated)
    frame = pd.DataFrame(
        {
            "group": groups.astype(object).fillna(POOLED).to_numpy()[keep],
            "treated": treated[keep] > 0,
            "churned": np.asarray(churned, dtype=float)[keep],
        }
    )
    n_treated = int(frame["treated"].sum())
    if min(n_treated, len(frame) - n_treated) < min_rows:
        return None
    arms = frame.groupby(["group", "treated"])["churned"].agg(["sum", "size"]).unstack(fill_value=0)
    pooled = frame.groupby("treated")["churned"].agg(["sum", "size"])
    out = {}
    for arm, name in ((False, "control"), (True, "treated")):
        base = float(pooled.loc[arm, "sum"] / max(pooled.loc[arm, "size"], 1))
        total = arms[("sum", arm)] if ("sum", arm) in arms else 0.0
        size = arms[("size", arm)] if ("size", arm) in arms else 0
        out[f"{name}_rows"] = pd.Series(size, index=arms.index).astype(int)
        out[f"{name}_churn"] = (total + prior_rows * base) / (size + prior_rows)
        out[f"{name}_pooled"] = base, int(pooled.loc[arm, "size"])
    table = pd.DataFrame({k: v for k, v in out.items() if not k.endswith("_pooled")})
    table.loc[POOLED] = [
        out["control_pooled"][1],
        out["control_pooled"][0],
        out["treated_pooled"][1],
        out["treated_pooled"][0],
    ]
    table = table[["control_rows", "treated_rows", "control_churn", "treated_churn"]]
    ratio = table["treated_churn"] / table["control_churn"].where(table["control_churn"] > 0)
    table["effect"] = (1.0 - ratio).fillna(0.0).clip(0.0, 1.0)
    return ContactEffects(table)
