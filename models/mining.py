"""A pair pool mined from a pile of texts: each text's nearest neighbours by the start bi-encoder(s), plus random pairs,
and optionally its lexical neighbours (the texts sharing most of its rarer words).

Users often have texts but no pairs. Neighbours give the near-paraphrase end of the pool and random pairs the
unrelated end, so the labels the models teach each other span the whole similarity range. Neighbours are exact
(chunked search, memory per chunk) or approximate (faiss HNSW) for corpora where exact search is too slow.
Lexical neighbours are pairs that look alike whatever they mean: at a low label they are the hard pairs (same
words, another meaning) that given pair sets such as SICK are full of and embedding neighbours rarely give.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Sequence

import faiss
import numpy as np
import pandas as pd
import scipy.sparse

from models.progress import ProgressFn, track
from models.search import best_columns, top_k

METHODS: tuple[str, ...] = ("exact", "hnsw")
# HNSW graph: links per node, candidate-list breadth while building and while searching. On MiniLM embeddings of
# synthetic sentences they give recall@5 0.998 at 10k texts and 0.990 at 100k (benchmarks/mining_scaling.json).
HNSW_LINKS = 32
HNSW_BUILD_BREADTH = 64
HNSW_SEARCH_BREADTH = 64
_RANDOM_ROUNDS = 50  # redraw rounds for random pairs; only a tiny corpus with few free pairs runs out
_COSINE_ROWS = 65536  # random pairs whose cosines are computed at once (gathered rows: 65536 x dimension floats)
BAND = 0.1  # width of the cosine bands a balanced draw spreads the neighbour pairs over
_RECALL_BLOCK = 2**24  # query rows x corpus scores per exact chunk in ann_recall (~64 MB, whatever the corpus size)
WORD = re.compile(r"\w+")  # a lexical neighbour's words: runs of letters and digits, lower-cased
# words in more than this share of the texts ('a', 'the', 'is') are left out of the word vectors: they say little of
# a text's content, and each would make its texts' sparse products dense (cost: the sum of the words' counts squared)
COMMON_WORD_SHARE = 0.1
# where each pair of a mined pool comes from; the pool's `rank` counts within its source (0 for a random pair)
SOURCES: tuple[str, ...] = ("neighbour", "lexical", "random")
NEIGHBOUR, LEXICAL, RANDOM = (np.int8(SOURCES.index(name)) for name in ("neighbour", "lexical", "random"))


@dataclass(frozen=True)
class MiningSettings:
    """How many neighbours per text, what share of the pool is random pairs, an optional cap, and the seed.
    `max_pairs` caps the pool: below what the neighbours give, both parts are drawn within it by the seed; above,
    the pool is what the neighbours give plus their share of random pairs. `balance` draws the neighbour part evenly
    over cosine bands (`BAND` wide) instead of uniformly: deep neighbour lists are mostly middling pairs, and a
    uniform draw would leave the labels few near-paraphrases and few weakly related pairs. `lexical`: lexical
    neighbours per text, drawn together with the embedding neighbours (0: none)."""
    neighbours: int = 5
    random_share: float = 0.2
    max_pairs: int | None = None
    seed: int = 42
    balance: bool = False
    lexical: int = 0

    def __post_init__(self) -> None:
        if self.neighbours < 1:
            raise ValueError(f"neighbours must be at least 1, got {self.neighbours}")
        if not 0 <= self.random_share < 1:
            raise ValueError(f"random_share must be in [0, 1), got {self.random_share}")
        if self.max_pairs is not None and self.max_pairs < 1:
            raise ValueError(f"max_pairs must be at least 1, got {self.max_pairs}")
        if self.lexical < 0:
            raise ValueError(f"lexical must be 0 or more, got {self.lexical}")


def joint_embeddings(per_model: Sequence[np.ndarray]) -> np.ndarray:
    """One matrix for several models' normalised embeddings of the same texts, whose dot products are the mean
    cosine over the models: one search then ranks neighbours by all start models at once."""
    if not per_model:
        raise ValueError("joint_embeddings needs at least one model's embeddings")
    if len({len(e) for e in per_model}) != 1:
        raise ValueError(f"every model must embed the same texts; row counts {[len(e) for e in per_model]}")
    if len(per_model) == 1:
        return np.ascontiguousarray(per_model[0], dtype=np.float32)
    scale = np.float32(1 / math.sqrt(len(per_model)))
    return np.concatenate([np.asarray(e, dtype=np.float32) * scale for e in per_model], axis=1)


def hnsw_index(embeddings: np.ndarray) -> faiss.Index:
    """An inner-product HNSW graph over all rows, built on one thread: faiss's multi-threaded insert order is
    unspecified, so only a one-thread build gives the same graph (and the same pool) every run."""
    index = faiss.IndexHNSWFlat(embeddings.shape[1], HNSW_LINKS, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_BUILD_BREADTH
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        index.add(np.ascontiguousarray(embeddings, dtype=np.float32))
    finally:
        faiss.omp_set_num_threads(threads)
    return index


def neighbours(embeddings: np.ndarray, k: int, rows: tuple[int, int] | None = None, method: str = "exact",
               chunk_rows: int = 1024, progress: ProgressFn | None = None,
               index: faiss.Index | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For texts rows[0]:rows[1] (all when None): (global neighbour indices int64 [m, k], cosines float32 [m, k]),
    best first, never the text itself. Blocks of rows concatenated equal the whole, so shards can mine apart.
    Exact search holds about 16 bytes x chunk_rows x texts at once (scores, their negation, argpartition's ids).

    `index`: an `hnsw_index` of these embeddings to reuse (method "hnsw"); built here when None."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    start, stop = rows if rows is not None else (0, len(embeddings))
    if not 0 <= start <= stop <= len(embeddings):
        raise ValueError(f"rows {rows} outside the {len(embeddings)} texts")
    if method == "exact":
        return top_k(embeddings[start:stop], embeddings, k, chunk_rows, exclude_self_from=start,
                     progress=progress, desc="mining neighbours")
    return _hnsw_neighbours(index if index is not None else hnsw_index(embeddings), embeddings,
                            np.arange(start, stop), k, chunk_rows, progress)


def _hnsw_neighbours(index: faiss.Index, embeddings: np.ndarray, query_rows: np.ndarray, k: int, chunk_rows: int,
                     progress: ProgressFn | None) -> tuple[np.ndarray, np.ndarray]:
    """Each query row's k best by the graph, its own row removed: asks for k + 1 and drops the self hit, or the
    last hit where the graph did not return the row itself (a tie with a duplicate)."""
    count = max(min(k, len(embeddings) - 1), 0)
    indices = np.zeros((len(query_rows), count), dtype=np.int64)
    scores = np.zeros((len(query_rows), count), dtype=np.float32)
    if count == 0 or len(query_rows) == 0:
        return indices, scores
    index.hnsw.efSearch = max(HNSW_SEARCH_BREADTH, count + 1)
    starts = range(0, len(query_rows), chunk_rows)
    for begin in track(starts, len(starts), "mining neighbours (hnsw)", progress):
        block = query_rows[begin:begin + chunk_rows]
        found_scores, found = index.search(np.ascontiguousarray(embeddings[block], dtype=np.float32), count + 1)
        keep = found != block[:, None]
        keep[keep.all(axis=1), count] = False  # self not returned: drop the weakest instead
        if (found[keep] < 0).any():
            raise RuntimeError(f"the HNSW graph returned fewer than {count} neighbours for some texts")
        indices[begin:begin + len(block)] = found[keep].reshape(len(block), count)
        scores[begin:begin + len(block)] = found_scores[keep].reshape(len(block), count)
    return indices, scores


def ann_recall(embeddings: np.ndarray, k: int, sample: int = 1000, seed: int = 42,
               index: faiss.Index | None = None) -> float:
    """Recall@k of the HNSW neighbours against exact ones on a seeded sample of query rows: the share of the true
    k nearest that approximate mining found (recorded in the manifest beside the pool)."""
    rows = np.sort(np.random.default_rng(seed).choice(len(embeddings), min(sample, len(embeddings)), replace=False))
    approximate, _ = _hnsw_neighbours(index if index is not None else hnsw_index(embeddings), embeddings, rows, k,
                                      1024, None)
    if approximate.shape[1] == 0:
        return 1.0
    # exact for the sample: k + 1 best with self allowed, then the row itself removed (or the last where it tied)
    exact, _ = top_k(embeddings[rows], embeddings, approximate.shape[1] + 1,
                     chunk_rows=max(1, _RECALL_BLOCK // len(embeddings)))
    keep = exact != rows[:, None]
    keep[keep.all(axis=1), -1] = False
    exact = exact[keep].reshape(len(rows), -1)
    hits = sum(len(np.intersect1d(a, e)) for a, e in zip(approximate, exact))
    return hits / exact.size


def mine_pairs(texts: Sequence[str], neighbour_ids: np.ndarray, neighbour_cosines: np.ndarray,
               embeddings: np.ndarray, settings: MiningSettings,
               lexical_ids: np.ndarray | None = None) -> tuple[pd.DataFrame, dict[str, int]]:
    """The pool (text_a, text_b, source: one of SOURCES, rank: 1..k within the source and 0 for random pairs,
    cosine: joint cosine) and the counts of what was dropped or redrawn, for the manifest. The same inputs and seed
    give the same frame.

    Only the first `settings.neighbours` columns of the neighbour arrays (`settings.lexical` of `lexical_ids`, the
    `lexical_neighbours`) are used. Near-duplicates are texts equal up to case and whitespace: a pair of them
    teaches nothing, and one text pair is kept once (a-b and b-a alike; an embedding neighbour before a lexical one)."""
    if len(neighbour_ids) != len(texts) or len(embeddings) != len(texts):
        raise ValueError(f"{len(texts)} texts, {len(neighbour_ids)} neighbour rows, {len(embeddings)} embeddings")
    if settings.lexical and (lexical_ids is None or lexical_ids.shape != (len(texts), settings.lexical)):
        raise ValueError(f"settings ask for {settings.lexical} lexical neighbours per text; got "
                         f"{None if lexical_ids is None else lexical_ids.shape} for {len(texts)} texts")
    keys, distinct = pd.factorize(np.array([text_key(t) for t in texts], dtype=object))
    keys = keys.astype(np.int64)
    a, b, rank = _candidates(neighbour_ids[:, :settings.neighbours])
    cosine = neighbour_cosines[:, :settings.neighbours].ravel().astype(np.float32)
    source = np.full(len(a), NEIGHBOUR)
    counts = {"neighbour_candidates": len(a)}
    if settings.lexical:
        lexical_a, lexical_b, lexical_rank = _candidates(lexical_ids)
        counts["lexical_candidates"] = len(lexical_a)
        a, b = np.concatenate([a, lexical_a]), np.concatenate([b, lexical_b])
        rank = np.concatenate([rank, lexical_rank])
        cosine = np.concatenate([cosine, _pair_cosines(embeddings, lexical_a, lexical_b)])
        source = np.concatenate([source, np.full(len(lexical_a), LEXICAL)])
    counts["self_pairs"] = int((a == b).sum())
    counts["near_duplicates"] = int((keys[a] == keys[b]).sum()) - counts["self_pairs"]
    keep = keys[a] != keys[b]
    a, b, rank, cosine, source = a[keep], b[keep], rank[keep], cosine[keep], source[keep]

    # one row per unordered text pair, the best source and rank (then the lower row) kept; the pool stays in
    # (source, row, rank) order
    codes = _pair_codes(keys[a], keys[b], len(distinct))
    order = np.lexsort((a, rank, source, codes))
    _, first = np.unique(codes[order], return_index=True)
    kept = np.sort(order[first])
    counts["repeats"] = len(a) - len(kept)
    a, b, rank, cosine, codes, source = a[kept], b[kept], rank[kept], cosine[kept], codes[kept], source[kept]

    neighbour_rng, random_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(settings.seed).spawn(2))
    total = round(len(a) / (1 - settings.random_share))
    if settings.max_pairs is not None:
        total = min(total, settings.max_pairs)
    random_count = round(settings.random_share * total)
    neighbour_count = min(len(a), total - random_count)
    counts["over_cap"] = len(a) - neighbour_count
    if neighbour_count < len(a):
        draw = _even_over_bands if settings.balance else _uniform
        chosen = np.sort(draw(cosine, neighbour_count, neighbour_rng))
        a, b, rank, cosine, codes, source = a[chosen], b[chosen], rank[chosen], cosine[chosen], codes[chosen], \
            source[chosen]

    # random pairs exclude every mined candidate, so a random pair is never a neighbour pair in disguise
    random_a, random_b, redrawn = _random_pairs(keys, len(distinct), random_count, codes, random_rng)
    counts.update(random_collisions=redrawn, random_short=random_count - len(random_a),
                  neighbour_pairs=int((source == NEIGHBOUR).sum()), random_pairs=len(random_a))
    if settings.lexical:
        counts["lexical_pairs"] = int((source == LEXICAL).sum())
    text_array = np.asarray(texts, dtype=object)
    pool = pd.DataFrame({
        "text_a": text_array[np.concatenate([a, random_a])],
        "text_b": text_array[np.concatenate([b, random_b])],
        "source": np.asarray(SOURCES, dtype=object)[np.concatenate([source, np.full(len(random_a), RANDOM)])],
        "rank": np.concatenate([rank, np.zeros(len(random_a), dtype=np.int16)]),
        "cosine": np.concatenate([cosine, _pair_cosines(embeddings, random_a, random_b)]),
    })
    return pool.astype({"text_a": "str", "text_b": "str", "source": "str"}), counts


def _candidates(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's neighbour list as candidate pairs: (row, neighbour, rank from 1), row by row; -1 (no neighbour)
    left out."""
    a = np.repeat(np.arange(len(ids), dtype=np.int64), ids.shape[1])
    rank = np.tile(np.arange(1, ids.shape[1] + 1, dtype=np.int16), len(ids))
    b = ids.ravel().astype(np.int64)
    found = b >= 0
    return a[found], b[found], rank[found]


def word_vectors(texts: Sequence[str]) -> scipy.sparse.csr_matrix:
    """One L2-normalised TF-IDF row per text over its lower-cased words (idf = ln(n / df) + 1), words in more than
    COMMON_WORD_SHARE of the texts left out: their dot product is high when two texts share most of their rarer
    words. A text of common words only is a row of zeros."""
    vocabulary: dict[str, int] = {}
    columns, row_starts = [], [0]
    for text in texts:
        columns.extend(vocabulary.setdefault(word, len(vocabulary)) for word in WORD.findall(str(text).lower()))
        row_starts.append(len(columns))
    counts = scipy.sparse.csr_matrix((np.ones(len(columns), dtype=np.float64), np.asarray(columns, dtype=np.int64),
                                      np.asarray(row_starts, dtype=np.int64)), shape=(len(texts), len(vocabulary)))
    counts.sum_duplicates()
    document_frequency = np.bincount(counts.indices, minlength=len(vocabulary))
    weight = np.log(len(texts) / np.maximum(document_frequency, 1)) + 1
    weight[document_frequency > COMMON_WORD_SHARE * len(texts)] = 0
    weighted = counts @ scipy.sparse.diags(weight)
    weighted.eliminate_zeros()
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    return scipy.sparse.csr_matrix(scipy.sparse.diags(1 / np.maximum(norms, 1e-12)) @ weighted)


def lexical_neighbours(texts: Sequence[str], k: int, chunk_rows: int = 512,
                       progress: ProgressFn | None = None) -> np.ndarray:
    """For each text, the `k` other texts of highest `word_vectors` cosine, best first, ties to the lower row
    (int64 [texts, k]); -1 where fewer than k texts share a word with it. Memory follows one chunk: chunk_rows x
    texts scores."""
    vectors = word_vectors(texts)
    transposed = vectors.T.tocsc()
    count = max(min(k, len(texts) - 1), 0)
    found = np.zeros((len(texts), count), dtype=np.int64)
    if count == 0:
        return found
    starts = range(0, len(texts), chunk_rows)
    for start in track(starts, len(starts), "mining lexical neighbours", progress):
        block = (vectors[start:start + chunk_rows] @ transposed).toarray()
        rows = np.arange(len(block))
        block[rows, start + rows] = -np.inf
        best = best_columns(block, count)
        found[start:start + len(block)] = np.where(np.take_along_axis(block, best, axis=1) > 0, best, -1)
    return found


def _uniform(cosine: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` candidate rows, every candidate equally likely."""
    return rng.choice(len(cosine), count, replace=False)


def _even_over_bands(cosine: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` candidate rows spread evenly over the cosine bands: each band gives the same number, a band with
    fewer candidates gives all it has and the others share the rest (water-filling); uniform within a band."""
    bands = np.floor(np.minimum(cosine, 1 - BAND / 2) / BAND).astype(np.int64)  # a cosine of 1 joins the top band
    _, band_of, sizes = np.unique(bands, return_inverse=True, return_counts=True)
    ascending = np.sort(sizes)
    # the largest per-band quota whose total stays within count, then one more from as many full bands as still needed
    quota = 0
    for position, size in enumerate(ascending):
        taken_below = int(ascending[:position].sum())
        if taken_below + size * (len(ascending) - position) >= count:
            quota = (count - taken_below) // (len(ascending) - position)
            break
    takes = np.minimum(sizes, quota)
    short = count - int(takes.sum())
    room = np.flatnonzero(sizes > takes)
    takes[rng.choice(room, short, replace=False)] += 1
    return np.concatenate([rng.choice(np.flatnonzero(band_of == band), take, replace=False)
                           for band, take in enumerate(takes) if take])


def text_key(text: str) -> str:
    """A text up to case and whitespace: two texts with one key are near-duplicates, never a mined pair."""
    return " ".join(str(text).lower().split())


def _pair_codes(key_a: np.ndarray, key_b: np.ndarray, distinct: int) -> np.ndarray:
    """One int64 per unordered pair of text keys (min * distinct + max): a-b and b-a get the same code."""
    return np.minimum(key_a, key_b) * distinct + np.maximum(key_a, key_b)


def _random_pairs(keys: np.ndarray, distinct: int, count: int, taken: np.ndarray,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int]:
    """`count` random pairs of rows (fewer only when the corpus has run out of free pairs): never near-duplicates,
    never a pair in `taken`, never the same pair twice. A colliding draw is redrawn; returns how many draws collided."""
    taken = np.unique(taken)
    a = np.zeros(0, dtype=np.int64)
    b = np.zeros(0, dtype=np.int64)
    redrawn = 0
    for _ in range(_RANDOM_ROUNDS):
        need = count - len(a)
        if need <= 0 or distinct < 2:
            break
        draw_a, draw_b = rng.integers(0, len(keys), size=(2, need))
        codes = _pair_codes(keys[draw_a], keys[draw_b], distinct)
        ok = (keys[draw_a] != keys[draw_b]) & ~np.isin(codes, taken)
        # drop repeats within this draw (keep the first), then add the survivors to what is taken
        first = np.zeros(need, dtype=bool)
        first[np.unique(codes, return_index=True)[1]] = True
        ok &= first
        redrawn += need - int(ok.sum())
        a, b = np.concatenate([a, draw_a[ok]]), np.concatenate([b, draw_b[ok]])
        taken = np.union1d(taken, codes[ok])
    return a, b, redrawn


def _pair_cosines(embeddings: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot products of embeddings[a] and embeddings[b], in slices so the gathered rows stay small."""
    out = np.zeros(len(a), dtype=np.float32)
    for start in range(0, len(a), _COSINE_ROWS):
        part = slice(start, start + _COSINE_ROWS)
        out[part] = np.einsum("ij,ij->i", embeddings[a[part]], embeddings[b[part]])
    return out
