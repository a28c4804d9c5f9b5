"""Event-log exports (one row per purchase) mapped into the data contract, and writing the result.

A purchase log with a customer key, a date and an amount becomes the contract's ``customers``
(signup_date = first purchase) and ``transactions`` tables. :class:`EventLogSpec` is the short
Python form of such a mapping; :func:`events_to_dataset` turns it into a
:class:`~features.adapters.mapping.ContractMapping` and applies it, so typing, per-row quarantine
and rejects are exactly those of ``churn import --spec``. :func:`write_contract_folder` writes a
folder that every command reading a data folder (``churn validate``, ``churn features``,
``churn train``) accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from core.csv_out import write_csv
from features.adapters.mapping import map_tables
from features.adapters.mapping_spec import ContractMapping, TableMapping
from features.adapters.snapshot import AdapterError
from features.contract import MANIFEST_FILE, TABLES
from features.dataset import Dataset
from features.loaders import write_rejects


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

    def mapping(self) -> ContractMapping:
        """The same mapping as a contract spec (``kind: contract``)."""
        formats = {} if self.date_format == "ISO8601" else {"ts": self.date_format}
        transactions = TableMapping(
            columns={"customer_id": self.customer, "ts": self.date, "amount": self.amount},
            date_formats=formats,
            constants={"kind": "purchase"},
            keep=self.extra,
        )
        return ContractMapping(
            name=self.name,
            tables={
                "transactions": transactions,
                "customers": TableMapping(derive="first_transaction"),
            },
        )


def events_to_dataset(
    raw: pd.DataFrame,
    spec: EventLogSpec | ContractMapping,
    as_of: str | pd.Timestamp,
    source: str,
) -> Dataset:
    """Map a raw text purchase log (with ``source_row``) into a validated contract Dataset.

    Each customer's first purchase date is their ``signup_date``: a purchase log cannot tell an
    earlier sign-up, and churn here is non-contractual (no purchase in the horizon).
    """
    mapping = spec if isinstance(spec, ContractMapping) else spec.mapping()
    data = map_tables({"transactions": raw}, mapping, {"transactions": source}, as_of).data
    assert isinstance(data, Dataset)
    return data


def write_contract_folder(ds: Dataset, out: str | Path) -> list[Path]:
    """Write one CSV per table present, ``dataset.yaml`` and any rejects into ``out``."""
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise AdapterError(f"{folder}: exists and is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in TABLES.items():
        if name not in ds.tables:
            continue
        frame = ds.tables[name]
        cols = [c for c in table.column_names if c in frame] + [
            c for c in frame if c not in table.column_names
        ]
        out_frame = frame[cols].copy()
        for col in cols:
            values = out_frame[col]
            if pd.api.types.is_datetime64_any_dtype(values):
                dated = values.dropna()
                whole_days = bool((dated == dated.dt.normalize()).all())
                out_frame[col] = values.dt.strftime(
                    "%Y-%m-%d" if whole_days else "%Y-%m-%dT%H:%M:%S"
                )
        path = folder / f"{name}.csv"
        write_csv(out_frame, path, for_people=False)
        written.append(path)
    manifest = folder / MANIFEST_FILE
    manifest.write_text(yaml.safe_dump({"as_of": f"{ds.as_of:%Y-%m-%d}"}), encoding="utf-8")
    written.append(manifest)
    written += write_rejects(ds, folder / "rejects")
    return written
