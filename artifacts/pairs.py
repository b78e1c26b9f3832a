"""The Parquet files that carry pairs between stages: the pool and each cycle's pseudo-labels; and, for a pool mined
from a corpus, the corpus, its embeddings and its neighbours."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from artifacts.atomic import atomic_path

POOL_SCHEMA = pa.schema([("text_a", pa.string()), ("text_b", pa.string())])
# a mined pool says why each pair is there: its source (models.mining.SOURCES), its rank within it (0: a random pair)
# and the start models' mean cosine; pools mined before lexical neighbours have no source column
MINED_POOL_SCHEMA = pa.schema([*POOL_SCHEMA, ("source", pa.string()), ("rank", pa.int16()), ("cosine", pa.float32())])
_MINED_BEFORE_SOURCES = pa.schema([*POOL_SCHEMA, ("rank", pa.int16()), ("cosine", pa.float32())])
CORPUS_SCHEMA = pa.schema([("text", pa.string())])
NEIGHBOURS_SCHEMA = pa.schema([("query", pa.int64()), ("neighbour", pa.int64()), ("rank", pa.int16()),
                               ("cosine", pa.float32())])
METRICS_KEY = b"trans_encoder.metrics"  # what a stage measured, kept in the Parquet footer for a cached read

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
    """The pairs of a given or a mined pool (its rank and cosine columns are left in the file)."""
    table = pq.read_table(path)
    if any(table.schema.remove_metadata().equals(mined) for mined in (MINED_POOL_SCHEMA, _MINED_BEFORE_SOURCES)):
        table = table.select(POOL_SCHEMA.names)
    return _read(path, POOL_SCHEMA, table)


def write_mined_pool(path: Path, pool: pd.DataFrame, metrics: dict[str, object]) -> Path:
    table = pa.Table.from_pandas(pool[MINED_POOL_SCHEMA.names], schema=MINED_POOL_SCHEMA, preserve_index=False)
    return _write(path, table.replace_schema_metadata({METRICS_KEY: json.dumps(metrics)}))


def read_mined_pool(path: Path) -> pd.DataFrame:
    """A mined pool with its source column (derived from the rank for a pool mined before lexical neighbours)."""
    table = pq.read_table(path)
    if table.schema.remove_metadata().equals(_MINED_BEFORE_SOURCES):
        old = _read(path, _MINED_BEFORE_SOURCES, table)
        old.insert(2, "source", np.where(old["rank"] == 0, "random", "neighbour"))
        return old
    return _read(path, MINED_POOL_SCHEMA, table)


def stored_metrics(path: Path) -> dict[str, object]:
    """What the stage that wrote a Parquet file measured (empty when it kept nothing)."""
    metadata = pq.read_schema(path).metadata or {}
    return json.loads(metadata[METRICS_KEY]) if METRICS_KEY in metadata else {}


def write_corpus(path: Path, texts: list[str], metrics: dict[str, object]) -> Path:
    table = pa.table({"text": texts}, schema=CORPUS_SCHEMA)
    return _write(path, table.replace_schema_metadata({METRICS_KEY: json.dumps(metrics)}))


def read_corpus(path: Path) -> list[str]:
    return _read(path, CORPUS_SCHEMA)["text"].tolist()


def write_embeddings(path: Path, embeddings: np.ndarray) -> Path:
    """One float32 row per corpus text, as a fixed-size list column (read back without a copy per row)."""
    values = pa.array(np.ascontiguousarray(embeddings, dtype=np.float32).reshape(-1))
    column = pa.FixedSizeListArray.from_arrays(values, embeddings.shape[1])
    return _write(path, pa.table({"embedding": column}))


def read_embeddings(path: Path) -> np.ndarray:
    column = pq.read_table(path).column("embedding").combine_chunks()
    return column.values.to_numpy().reshape(len(column), column.type.list_size)


def write_neighbours(path: Path, first_row: int, ids: np.ndarray, cosines: np.ndarray,
                     metrics: dict[str, object] | None = None) -> Path:
    """Each query text's neighbours, best first: query and neighbour are corpus rows, rank counts from 1."""
    queries, k = ids.shape
    frame = pd.DataFrame({"query": np.repeat(np.arange(first_row, first_row + queries, dtype=np.int64), k),
                          "neighbour": ids.reshape(-1).astype(np.int64),
                          "rank": np.tile(np.arange(1, k + 1, dtype=np.int16), queries),
                          "cosine": cosines.reshape(-1).astype(np.float32)})
    table = pa.Table.from_pandas(frame, schema=NEIGHBOURS_SCHEMA, preserve_index=False)
    return _write(path, table.replace_schema_metadata({METRICS_KEY: json.dumps(metrics or {})}))


def read_neighbours(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(query rows, neighbour ids [queries, k], cosines [queries, k]) of one neighbours file."""
    frame = _read(path, NEIGHBOURS_SCHEMA)
    k = int(frame["rank"].max()) if len(frame) else 0
    queries = frame["query"].to_numpy()[::k] if k else np.zeros(0, dtype=np.int64)
    return (queries, frame["neighbour"].to_numpy().reshape(-1, k) if k else np.zeros((0, 0), dtype=np.int64),
            frame["cosine"].to_numpy().reshape(-1, k) if k else np.zeros((0, 0), dtype=np.float32))


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
