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
    ("label_transform", pa.string()),  # bi labels: "raw" | "clip" | "minmax"; cross: "sigmoid" | "sigmoid-symmetric"
])


SCORER_PREFIX = "scorer:"  # averaged labels keep each scorer's labels as a float32 column "scorer:<kind>:<name>"

PREDICTIONS_SCHEMA = pa.schema([("set", pa.string()), ("prediction", pa.float64()), ("gold", pa.float64())])


class SchemaError(ValueError):
    """A Parquet artifact whose columns are not the ones this version writes."""


def write_pool(path: Path, pool: pd.DataFrame) -> Path:
    return _write(path, pa.Table.from_pandas(pool[["text_a", "text_b"]], schema=POOL_SCHEMA, preserve_index=False))


def read_pool(path: Path) -> pd.DataFrame:
    return _read(path, POOL_SCHEMA)


def write_labelled(path: Path, pool: pd.DataFrame, labels: np.ndarray, labelled_by: str, cycle: int,
                   label_transform: str, scorers: dict[str, np.ndarray] | None = None) -> Path:
    """Labelled pairs; `scorers` (averaged labels) adds one named column per scorer that went into `label`."""
    for values in [labels, *(scorers or {}).values()]:
        if len(values) != len(pool):
            raise ValueError(f"{len(values)} labels for {len(pool)} pairs")
    frame = pd.DataFrame({
        "text_a": pool["text_a"].to_numpy(), "text_b": pool["text_b"].to_numpy(),
        "label": np.asarray(labels, dtype=np.float32), "labelled_by": labelled_by,
        "cycle": np.int32(cycle), "label_transform": label_transform,
    })
    schema = LABELLED_SCHEMA
    for name, values in (scorers or {}).items():
        frame[SCORER_PREFIX + name] = np.asarray(values, dtype=np.float32)
        schema = schema.append(pa.field(SCORER_PREFIX + name, pa.float32()))
    return _write(path, pa.Table.from_pandas(frame, schema=schema, preserve_index=False))


def read_labelled(path: Path) -> pd.DataFrame:
    """The fixed columns, then any `scorer:` float32 columns of an averaged artifact."""
    table = pq.read_table(path)
    extra = [f for f in table.schema if f.name.startswith(SCORER_PREFIX) and f.type == pa.float32()]
    return _read(path, pa.schema([*LABELLED_SCHEMA, *extra]), table)


def write_predictions(path: Path, predictions: dict[str, np.ndarray], golds: dict[str, np.ndarray]) -> Path:
    """A model's similarity for every benchmark pair, beside the gold score: ensembles average these."""
    frame = pd.DataFrame({
        "set": np.concatenate([[name] * len(values) for name, values in predictions.items()]),
        "prediction": np.concatenate([np.asarray(v, dtype=np.float64) for v in predictions.values()]),
        "gold": np.concatenate([np.asarray(golds[name], dtype=np.float64) for name in predictions]),
    })
    return _write(path, pa.Table.from_pandas(frame, schema=PREDICTIONS_SCHEMA, preserve_index=False))


def read_predictions(path: Path) -> pd.DataFrame:
    return _read(path, PREDICTIONS_SCHEMA)


def _write(path: Path, table: pa.Table) -> Path:
    with atomic_path(path) as temp:
        pq.write_table(table, temp)
    return path


def _read(path: Path, schema: pa.Schema, table: pa.Table | None = None) -> pd.DataFrame:
    table = pq.read_table(path) if table is None else table
    if not table.schema.remove_metadata().equals(schema):
        raise SchemaError(f"{path} has columns {table.schema.names} ({table.schema.types}); "
                          f"expected {schema.names} ({schema.types}). Delete it and rerun to rebuild it.")
    return table.to_pandas()
