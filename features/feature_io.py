"""Feature tables on disk and the ``features:`` config section: the file edges of the pipeline.

A feature table is written as Parquet; its label definition, notes and feature names travel in
the file's metadata (key ``churn.features``, and as pandas ``attrs``), so whoever trains on the
file knows exactly which churn definition and horizon produced its labels.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.contract import CONTRACT_VERSION
from features.pipeline.cutoffs import FeatureError

METADATA_KEY = b"churn.features"


def write_features(frame: pd.DataFrame, path: Path) -> Path:
    """Write a feature table to Parquet with its label definition in the file's metadata."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"contract_version": CONTRACT_VERSION, **frame.attrs}
    table = pa.Table.from_pandas(frame, preserve_index=False)
    schema_meta = {
        **(table.schema.metadata or {}),
        METADATA_KEY: json.dumps(meta, ensure_ascii=False).encode("utf-8"),
    }
    pq.write_table(table.replace_schema_metadata(schema_meta), path)
    return path


def read_features(path: Path) -> pd.DataFrame:
    """Read a feature table written by :func:`write_features`, with its ``attrs`` restored."""
    table = pq.read_table(path)
    raw = (table.schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise FeatureError(f"{path}: not a feature table (no {METADATA_KEY.decode()} metadata)")
    frame = table.to_pandas()
    frame.attrs = json.loads(raw)
    return frame
