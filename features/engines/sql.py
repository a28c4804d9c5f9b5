"""The feature definitions as SQL: the same :class:`WindowAgg` specs compiled to ANSI SQL.

This is the route to engines beyond one machine: the prepared event views and the aggregate
queries use only ``CASE``, aggregates with a ``FILTER (WHERE ...)`` clause (SQL:2003), ``LAG`` and
``ROW_NUMBER``, which DuckDB, Spark SQL 3, PostgreSQL and the common warehouses run (where
``FILTER`` is missing, ``SUM(CASE WHEN cond THEN x END)`` is the same aggregate). The
dialect-specific pieces are small: turning a timestamp into days (:data:`DAYS`), quoting a name
(:data:`QUOTE`) and a double literal. DuckDB (``FeatureConfig.engine``) and Spark
(:mod:`features.engines.spark`) run it here, and the tests check that both give the same numbers
as the pandas engine.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from features.config import FeatureConfig
from features.contract import REFUND
from features.dataset import Dataset
from features.pipeline.aggregate import WindowAgg

DAYS = {
    "duckdb": "(epoch_us({col}) / 86400000000.0)",
    "spark": "(unix_micros({col}) / 86400000000.0D)",
}
QUOTE = {"duckdb": '"{name}"', "spark": "`{name}`"}
"""How each dialect quotes a column name (Spark reads ``"x"`` as a string)."""
VIEWS = {"transactions": "tx", "interactions": "it", "complaints": "cp"}


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _in_list(values: Sequence[str]) -> str:
    return "(" + ", ".join(_lit(v.lower()) for v in values) + ")" if values else "(NULL)"


def prepared_sql(table: str, available: set[str], cfg: FeatureConfig, dialect: str) -> str:
    """SELECT producing the prepared columns of ``table`` (as :mod:`features.pipeline.events` does)."""
    days = DAYS[dialect].format
    if table == "transactions":
        # refunds: a negative amount or kind 'refund'; purchase_t and gap are NULL for them
        refund = "amount < 0" + (f" OR kind = {_lit(REFUND)}" if "kind" in available else "")
        flagged = (
            f"SELECT customer_id, ts, {days(col='ts')} AS t, amount, "
            f"CASE WHEN {refund} THEN 1 ELSE 0 END AS refund FROM transactions"
        )
        return (
            "SELECT customer_id, t, amount, purchase_t, gap, gap * gap AS gap_sq FROM ("
            "SELECT customer_id, t, amount, CASE WHEN refund = 0 THEN t END AS purchase_t, "
            "CASE WHEN refund = 0 THEN t - LAG(t) OVER "
            "(PARTITION BY customer_id, refund ORDER BY ts) END AS gap "
            f"FROM ({flagged}))"
        )
    cols = ["customer_id"]
    if table == "interactions":
        cols += [f"{days(col='ts')} AS t", "channel"]
        if "direction" in available:
            cols.append("direction")
        if "is_response" in available:
            cols.append(
                "CASE WHEN channel = 'campaign' AND lower(outcome) IN "
                f"{_in_list(cfg.response_outcomes)} THEN 1.0 ELSE 0.0 END AS is_response"
            )
        if "is_unanswered" in available:
            cols.append(
                "CASE WHEN direction = 'outbound' AND lower(outcome) IN "
                f"{_in_list(cfg.unanswered_outcomes)} THEN 1.0 ELSE 0.0 END AS is_unanswered"
            )
        return f"SELECT {', '.join(cols)} FROM interactions"
    opened, resolved = days(col="opened_at"), days(col="resolved_at")
    cols.append(f"{opened} AS t")
    if "resolved_t" in available:
        cols += [f"{resolved} AS resolved_t", f"{resolved} - {opened} AS res_days"]
    if "sev_w" in available:
        cols.append("COALESCE(CAST(severity AS DOUBLE), 1.0) AS sev_w")
    if "satisfaction" in available:
        cols.append("CAST(satisfaction AS DOUBLE) AS satisfaction")
    if "is_repeat" in available:
        cols.append(
            "CASE WHEN category IS NOT NULL AND ROW_NUMBER() OVER "
            "(PARTITION BY customer_id, category ORDER BY opened_at) > 1 "
            "THEN 1.0 ELSE 0.0 END AS is_repeat"
        )
    return f"SELECT {', '.join(cols)} FROM complaints"


def _num(value: float, dialect: str) -> str:
    """A float literal read as a double (Spark reads ``1.5`` as a decimal, ``1.5D`` as a double)."""
    return f"{value!r}D" if dialect == "spark" else repr(value)


def spec_sql(spec: WindowAgg, cutoff_days: float, dialect: str = "duckdb") -> str:
    """One spec as an aggregate expression over a prepared view."""
    low, high = spec.bounds(cutoff_days)
    cond = [f"{spec.time} < {_num(high, dialect)}"]
    if low is not None:
        cond.append(f"{spec.time} >= {_num(low, dialect)}")
    if spec.value is not None and spec.value != spec.time:
        cond.append(f"{spec.value} IS NOT NULL")
    if spec.known is not None:
        cond.append(f"{spec.known} < {_num(cutoff_days, dialect)}")
    cond += [f"{col} = {_lit(val)}" for col, val in spec.where]
    target = "*" if spec.fn == "count" else spec.value
    return f"{spec.fn.upper()}({target}) FILTER (WHERE {' AND '.join(cond)})"


def aggregate_sql(
    view: str, specs: Sequence[WindowAgg], cutoff_days: float, dialect: str = "duckdb"
) -> str:
    """The query computing every spec per customer from a prepared view."""
    quote = QUOTE[dialect].format
    exprs = ",\n  ".join(
        f"{spec_sql(s, cutoff_days, dialect)} AS {quote(name=s.name)}" for s in specs
    )
    return f"SELECT customer_id,\n  {exprs}\nFROM {view}\nGROUP BY customer_id"


class DuckDBEngine:
    """Runs the aggregate specs as SQL in an in-process DuckDB over the data set's tables."""

    def __init__(
        self, ds: Dataset, index: pd.Index, available: dict[str, set[str]], cfg: FeatureConfig
    ) -> None:
        import duckdb  # optional engine: imported only when chosen

        self.index = index
        self.con = duckdb.connect()
        for table, cols in available.items():
            self.con.register(f"raw_{table}", ds.tables[table])
            self.con.execute(f"CREATE TEMP VIEW {table} AS SELECT * FROM raw_{table}")
            sql = prepared_sql(table, cols, cfg, "duckdb")
            self.con.execute(f"CREATE TEMP TABLE {VIEWS[table]} AS {sql}")

    def aggregate(
        self, table: str, specs: Sequence[WindowAgg], cutoff_days: float
    ) -> dict[str, np.ndarray]:
        """Every spec for every customer, aligned with the customers table like the pandas engine."""
        result = self.con.execute(aggregate_sql(VIEWS[table], specs, cutoff_days)).df()
        pos = self.index.get_indexer(result["customer_id"].astype("str"))
        known = pos >= 0
        out = {}
        for spec in specs:
            fill = 0.0 if spec.fn in ("count", "sum") else np.nan
            col = np.full(len(self.index), fill)
            values = result[spec.name].to_numpy(dtype=np.float64, na_value=np.nan)[known]
            col[pos[known]] = np.where(np.isnan(values), fill, values)
            out[spec.name] = col
        return out
