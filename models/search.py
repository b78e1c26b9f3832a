"""Exact nearest-neighbour search over L2-normalised embeddings, in chunks of queries.

Memory follows one chunk's score block (chunk_rows x corpus size), not queries x corpus: mining a corpus against
itself and retrieving a benchmark's documents share it.
"""
from __future__ import annotations

import numpy as np

from models.progress import ProgressFn, track


def top_k(queries: np.ndarray, corpus: np.ndarray, k: int, chunk_rows: int = 1024,
          exclude_self_from: int | None = None, progress: ProgressFn | None = None,
          desc: str = "search") -> tuple[np.ndarray, np.ndarray]:
    """For each query row, the `k` corpus rows of highest dot product (cosine for normalised rows), best first:
    (indices int64 [queries, k], scores float32 [queries, k]); equal scores within the k are ordered by row.

    `exclude_self_from`: the queries are corpus rows `exclude_self_from`, `exclude_self_from + 1`, ...; each
    query's own row is never among its neighbours (mining a corpus against itself, block by block)."""
    count = min(k, len(corpus) - (exclude_self_from is not None))
    indices = np.zeros((len(queries), max(count, 0)), dtype=np.int64)
    scores = np.zeros((len(queries), max(count, 0)), dtype=np.float32)  # returned as float32
    if count <= 0 or len(queries) == 0:
        return indices, scores
    # float64 products: a block's scores must not depend on its shape or the BLAS threads (float32 sums in another
    # order move near-equal scores past each other), so a sharded search equals the whole on any worker
    corpus64 = np.asarray(corpus, dtype=np.float64)
    starts = range(0, len(queries), chunk_rows)
    for start in track(starts, len(starts), desc, progress):
        block = np.asarray(queries[start:start + chunk_rows], dtype=np.float64) @ corpus64.T
        rows = np.arange(len(block))
        if exclude_self_from is not None:
            block[rows, exclude_self_from + start + rows] = -np.inf
        chosen = best_columns(block, count)
        indices[start:start + len(block)] = chosen
        scores[start:start + len(block)] = np.take_along_axis(block, chosen, axis=1)
    return indices, scores


def best_columns(block: np.ndarray, count: int) -> np.ndarray:
    """Each row's `count` highest-scoring columns, best first, ties to the lower column: argpartition on -score,
    then a stable sort of that shortlist."""
    shortlist = np.argpartition(-block, count - 1, axis=1)[:, :count] if count < block.shape[1] else \
        np.tile(np.arange(block.shape[1]), (len(block), 1))
    shortlist.sort(axis=1)
    order = np.argsort(-np.take_along_axis(block, shortlist, axis=1), axis=1, kind="stable")
    return np.take_along_axis(shortlist, order, axis=1)
