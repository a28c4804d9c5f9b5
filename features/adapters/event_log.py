"""Event-log exports (one row per purchase) mapped into the data contract and validated.

A purchase log with a customer key, a date and an amount becomes the contract's ``customers``
(signup_date = first purchase) and ``transactions`` tables, typed by the loaders' own parsers and
checked by :func:`features.loaders.validate_tables`, so rejected rows are counted and kept with a
reason exactly as ``churn validate`` does. :func:`write_contract_folder` writes a folder that every
command reading a data folder (``churn validate``, ``churn features``, ``churn train``) accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from core.errors import ContractError
from features.adapters.snapshot import SOURCE_ROW, AdapterError, require_columns
from features.contract import CUSTOMERS, MANIFEST_FILE, TRANSACTIONS
from features.dataset import Dataset
from features.loaders import parse_table, validate_tables, write_rejects


@dataclass(frozen=True)
class EventLogSpec:
    """Source column names of a purchase log and how its dates are written."""

    name: str
    customer: str
    date: str
    amount: str
    date_format: str = "ISO8601"
    """A ``strftime`` format such as ``%Y%m%d``, or ``ISO8601``."""
    extra: tuple[str, ...] = ()
    """Source columns kept on the transactions table (as text) beside the contract's."""


def _dates(raw: pd.Series, spec: EventLogSpec, source: str) -> pd.Series:
    parsed = pd.to_datetime(raw.str.strip(), format=spec.date_format, errors="coerce")
    bad = raw.notna() & parsed.isna()
    if bad.any():
        shown = ", ".join(repr(v) for v in raw[bad].drop_duplicates().head(10))
        raise ContractError(
            f"{source}, column '{spec.date}': {int(bad.sum())} value(s) are not dates in the "
            f"format {spec.date_format}: {shown}"
        )
    return parsed.dt.strftime("%Y-%m-%d").astype("str")


def events_to_dataset(
    raw: pd.DataFrame, spec: EventLogSpec, as_of: str | pd.Timestamp, source: str
) -> Dataset:
    """Map a raw text purchase log (with ``source_row``) into a validated contract Dataset.

    Each customer's first purchase date is their ``signup_date``: a purchase log cannot tell an
    earlier sign-up, and churn here is non-contractual (no purchase in the horizon).
    """
    require_columns(raw, (spec.customer, spec.date, spec.amount), source, spec.name)
    tx = pd.DataFrame(
        {
            SOURCE_ROW: raw[SOURCE_ROW].to_numpy(),
            "customer_id": raw[spec.customer].str.strip(),
            "ts": _dates(raw[spec.date], spec, source),
            "amount": raw[spec.amount],
            "kind": "purchase",
        }
    )
    for col in spec.extra:
        tx[col] = raw[col]
    tx_typed = parse_table(tx, TRANSACTIONS, source)
    known = tx_typed[tx_typed["customer_id"].notna()]
    first = known.groupby("customer_id", sort=True)["ts"].min()
    customers = pd.DataFrame(
        {
            SOURCE_ROW: pd.RangeIndex(1, len(first) + 1),
            "customer_id": first.index.astype("str"),
            "signup_date": first.to_numpy(),
        }
    )
    typed = {"customers": customers, "transactions": tx_typed}
    sources = {"customers": f"{source} (first purchase per customer)", "transactions": source}
    as_of_ts = pd.Timestamp(as_of).normalize()
    return validate_tables(typed, sources, as_of_ts)


def write_contract_folder(ds: Dataset, out: str | Path) -> list[Path]:
    """Write ``customers.csv``, ``transactions.csv``, ``dataset.yaml`` and any rejects into out."""
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise AdapterError(f"{folder}: exists and is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in (("customers", CUSTOMERS), ("transactions", TRANSACTIONS)):
        frame = ds.tables[name]
        cols = [c for c in table.column_names if c in frame] + [
            c for c in frame if c not in table.column_names
        ]
        out_frame = frame[cols].copy()
        for col in cols:
            if pd.api.types.is_datetime64_any_dtype(out_frame[col]):
                out_frame[col] = out_frame[col].dt.strftime("%Y-%m-%d")
        path = folder / f"{name}.csv"
        out_frame.to_csv(path, index=False)
        written.append(path)
    manifest = folder / MANIFEST_FILE
    manifest.write_text(yaml.safe_dump({"as_of": f"{ds.as_of:%Y-%m-%d}"}), encoding="utf-8")
    written.append(manifest)
    written += write_rejects(ds, folder / "rejects")
    return written
