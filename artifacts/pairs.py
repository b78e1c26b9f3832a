"""The Parquet files that carry pairs between stages: the pool and each cycle's pseudo-labels."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from artifacts.atomic import atomic_path

POOL_SCHEMA = pa.schema([("text_a", pa.string()), ("text_b", pa.string())])

LABELLED_SCHEMA = pa.schema([
    ("text_a", pa.string()),
    ("text_b", pa.string()),
    ("label", pa.float32()),
    ("labelled_by", pa.string()),  # "bi-encoder" or "cross-encoder"
    ("cycle", pa.int32()),
    ("label_transform", pa.string()),  # "raw" | "clip" | "minmax" for bi labels; "sigmoid" / "sigmoid-symmetric" for cross
])


class SchemaError(ValueError):
    """A Parquet artifact whose columns are not the ones this version writes."""


def write_pool(path: Path, pool: pd.DataFrame) -> Path:
    return _write(path, pa.Table.from_pandas(pool[["text_a", "text_b"]], schema=POOL_SCHEMA, preserve_index=False))


def read_pool(path: Path) -> pd.DataFrame:
    return _read(path, POOL_SCHEMA)


def write_labelled(path: Path, pool: pd.DataFrame, labels: np.ndarray, labelled_by: str, cycle: int,
                   label_transform: str) -> Path:
    if len(labels) != len(pool):
        raise ValueError(f"{len(labels)} labels for {len(pool)} pairs")
    frame = pd.DataFrame({
        "text_a": pool["text_a"].to_numpy(), "text_b": pool["text_b"].to_numpy(),
        "label": np.asarray(labels, dtype=np.float32), "labelled_by": labelled_by,
        "cycle": np.int32(cycle), "label_transform": label_transform,
    })
    return _write(path, pa.Table.from_pandas(frame, schema=LABELLED_SCHEMA, preserve_index=False))


def read_labelled(path: Path) -> pd.DataFrame:
    return _read(path, LABELLED_SCHEMA)


def _write(path: Path, table: pa.Table) -> Path:
    with atomic_path(path) as temp:
        pq.write_table(table, temp)
    return path


def _read(path: Path, schema: pa.Schema) -> pd.DataFrame:
    table = pq.read_table(path)
    if not table.schema.remove_metadata().equals(schema):
        raise SchemaError(f"{path} has columns {table.schema.names} ({table.schema.types}); "
                          f"expected {schema.names} ({schema.types}). Delete it and rerun to rebuild it.")
    return table.to_pandas()
