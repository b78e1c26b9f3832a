"""mine: the pair pool built from the corpus's neighbours (merged in row order from their blocks) plus random pairs,
and with --mine-lexical the texts' lexical neighbours (searched here, in chunks, unsharded): near-paraphrases to
unrelated pairs, each with its source, rank and cosine. Everything after it is the usual cycle, reading this pool as
it reads a given one."""
from __future__ import annotations

import numpy as np

from artifacts.pairs import read_corpus, read_neighbours, stored_metrics, write_mined_pool
from models.config import PipelineConfig
from models.data import DataError, min_pool_pairs
from models.mining import MiningSettings, lexical_neighbours, mine_pairs
from pipeline.stage import Kind, Metrics, Stage, StageContext, Writes
from pipeline.stages.neighbours import SCORE_BLOCK, joint, search_method
from pipeline.stages.shared import stored_file_metrics

BLOCK = "rows "  # the neighbour inputs are named by their block of texts: 'rows 0-5000' (pipeline/plan.mine_pool)


def run(context: StageContext) -> Metrics:
    config = context.config
    texts = read_corpus(context.input_path("corpus"))
    embeddings = joint(context)
    blocks = sorted((name for name in context.inputs if name.startswith(BLOCK)),
                    key=lambda name: int(name[len(BLOCK):].split("-")[0]))
    found = [read_neighbours(context.input_path(name)) for name in blocks]
    queries = np.concatenate([rows for rows, _, _ in found])
    if not np.array_equal(queries, np.arange(len(texts))):
        raise ValueError(f"the neighbour blocks {blocks} do not cover the {len(texts)} corpus texts once, in order")
    settings = MiningSettings(config.mine_neighbours, config.mine_random, config.max_pairs, config.seed,
                              config.mine_balance, config.mine_lexical)
    lexical = lexical_neighbours(texts, config.mine_lexical, max(16, SCORE_BLOCK // len(texts)),
                                 context.progress) if config.mine_lexical else None
    pool, counts = mine_pairs(texts, np.concatenate([ids for _, ids, _ in found]),
                              np.concatenate([cosines for _, _, cosines in found]), embeddings, settings, lexical)
    method = search_method(config, len(texts))
    metrics: Metrics = {"pairs": len(pool), "texts": len(texts), "search": method, **counts}
    recalls = [stored_metrics(context.input_path(name)).get("recall_at_k") for name in blocks]
    if recalls[0] is not None:  # HNSW (one block): how many of the exact neighbours the index found, on a sample
        metrics["recall_at_k"] = recalls[0]
    minimum = min_pool_pairs(config)  # checked, not keyed: it stores nothing
    if len(pool) < minimum:
        raise DataError(f"{config.corpus_path}: {len(texts)} texts gave {len(pool)} pairs, fewer than one training "
                        f"batch ({minimum}); give more texts, raise --mine-neighbours, or lower --bi-batch-size")
    write_mined_pool(context.target, pool, metrics)
    return metrics


def planned_size(config: PipelineConfig) -> Metrics:
    """Before mining, a plan can only assume the pool is --max-pairs (0: unknown, so labelling is planned unsharded)."""
    return {"pairs": config.max_pairs or 0}


STAGE = Stage("mine", run, Kind.COMBINING, Writes.PARQUET, inputs=None,
              settings=("mine_neighbours", "mine_random", "mine_balance", "mine_lexical", "mine_exact_max", "max_pairs",
                        "seed"),
              stored_metrics=stored_file_metrics, planned_metrics=planned_size)
