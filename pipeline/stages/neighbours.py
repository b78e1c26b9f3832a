"""neighbours: each corpus text's nearest neighbours by the start bi-encoders' mean cosine, for a block of texts
(one shard) or all of them; exact search up to --mine-exact-max texts, a faiss HNSW index above."""
from __future__ import annotations

import numpy as np

from artifacts.pairs import read_embeddings, write_neighbours
from models.config import PipelineConfig
from models.mining import joint_embeddings, neighbours
from pipeline.stage import Kind, Metrics, Stage, StageContext, Writes


def search_method(config: PipelineConfig, texts: int) -> str:
    return "exact" if texts <= config.mine_exact_max else "hnsw"


def joint(context: StageContext) -> np.ndarray:
    """The embedding inputs (named 'bi:<model>') joined so that a dot product is the mean cosine over models."""
    return joint_embeddings([read_embeddings(context.input_path(name))
                             for name in sorted(context.inputs) if name.startswith("bi:")])


def run(context: StageContext) -> Metrics:
    embeddings = joint(context)
    rows = context.params.rows or (0, len(embeddings))
    method = search_method(context.config, len(embeddings))
    ids, cosines = neighbours(embeddings, context.config.mine_neighbours, rows, method, progress=context.progress)
    write_neighbours(context.target, rows[0], ids, cosines)
    return {"texts": rows[1] - rows[0], "search": method}


STAGE = Stage("neighbours", run, Kind.COMBINING, Writes.PARQUET, inputs=None,  # reads stored embeddings only
              settings=("mine_neighbours", "mine_exact_max"))
