"""neighbours: each corpus text's nearest neighbours by the start bi-encoders' mean cosine, for a block of texts
(one shard) or all of them; exact search up to --mine-exact-max texts, a faiss HNSW index above."""
from __future__ import annotations

import numpy as np

from artifacts.pairs import read_embeddings, write_neighbours
from models.config import PipelineConfig
from models.mining import ann_recall, hnsw_index, joint_embeddings, neighbours
from pipeline.stage import Kind, Metrics, Stage, StageContext, Writes

SCORE_BLOCK = 2 ** 25  # query x text scores searched at once (256 MB of float64): memory follows it, not the corpus


def search_method(config: PipelineConfig, texts: int) -> str:
    return "exact" if texts <= config.mine_exact_max else "hnsw"


def joint(context: StageContext) -> np.ndarray:
    """The embedding inputs (named 'bi:<model>') joined so that a dot product is the mean cosine over models."""
    return joint_embeddings([read_embeddings(context.input_path(name))
                             for name in sorted(context.inputs) if name.startswith("bi:")])


def run(context: StageContext) -> Metrics:
    """With HNSW, the index is built once here and also gives its recall against exact search on a sample."""
    config, embeddings = context.config, joint(context)
    rows = context.params.rows or (0, len(embeddings))
    method = search_method(config, len(embeddings))
    index = hnsw_index(embeddings) if method == "hnsw" else None
    ids, cosines = neighbours(embeddings, config.mine_neighbours, rows, method, index=index,
                              chunk_rows=max(16, SCORE_BLOCK // len(embeddings)), progress=context.progress)
    metrics: Metrics = {"texts": rows[1] - rows[0], "search": method}
    if index is not None:
        metrics["recall_at_k"] = ann_recall(embeddings, config.mine_neighbours, seed=config.seed, index=index)
    write_neighbours(context.target, rows[0], ids, cosines, metrics)
    return metrics


STAGE = Stage("neighbours", run, Kind.COMBINING, Writes.PARQUET, inputs=None,  # reads stored embeddings only
              settings=("mine_neighbours", "mine_exact_max"))
