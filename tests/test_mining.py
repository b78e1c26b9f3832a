"""Mining a pair pool from texts: neighbours match brute force, blocks match the whole, the pool is clean and seeded."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from models.mining import (
    BAND,
    SOURCES,
    MiningSettings,
    ann_recall,
    joint_embeddings,
    lexical_neighbours,
    mine_pairs,
    neighbours,
    word_vectors,
)

WORDS = "the a printer offline cable screen battery phone laptop reset slow cannot connect update error".split()


def unit_vectors(rows: int, dimension: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((rows, dimension)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def corpus(rows: int = 400, twins: int = 20, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Random texts and embeddings, the last `twins` texts near-duplicates (case, spacing) of the first ones with
    almost the same embedding, so each twin is its original's nearest neighbour."""
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(WORDS, 8)) + f" {i}" for i in range(rows - twins)]
    texts += ["  " + t.upper().replace(" ", "   ") for t in texts[:twins]]
    embeddings = unit_vectors(rows, 16, seed)
    embeddings[rows - twins:] = embeddings[:twins] + 1e-3 * embeddings[rows - twins:]
    return texts, embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)


def word_texts(rows: int, twins: int, seed: int = 0) -> list[str]:
    """Texts of 6 words from 300, so most words are rare (lexical neighbours need words in few texts), the last
    `twins` near-duplicates of the first ones."""
    rng = np.random.default_rng(seed)
    texts = [" ".join(f"w{word}" for word in rng.choice(300, 6, replace=False)) for _ in range(rows - twins)]
    return texts + ["  " + t.upper().replace(" ", "   ") for t in texts[:twins]]


def text_key(text: str) -> str:
    return " ".join(text.lower().split())


def test_exact_neighbours_equal_brute_force() -> None:
    embeddings = unit_vectors(500, 16, seed=1)
    similarity = embeddings @ embeddings.T
    np.fill_diagonal(similarity, -np.inf)
    expected = np.argsort(-similarity, axis=1, kind="stable")[:, :7]
    ids, cosines = neighbours(embeddings, 7, chunk_rows=64)
    np.testing.assert_array_equal(ids, expected)
    np.testing.assert_allclose(cosines, np.take_along_axis(similarity, expected, axis=1), atol=1e-6)
    assert ids.dtype == np.int64 and cosines.dtype == np.float32


@pytest.mark.parametrize("method", ["exact", "hnsw"])
def test_row_blocks_concatenated_equal_the_whole(method: str) -> None:
    """Sharded mining relies on it; for hnsw each block builds its own graph, so this also checks the build is
    deterministic."""
    embeddings = unit_vectors(600, 16, seed=2)
    whole_ids, whole_cosines = neighbours(embeddings, 5, method=method, chunk_rows=100)
    blocks = [neighbours(embeddings, 5, rows=rows, method=method, chunk_rows=100)
              for rows in [(0, 137), (137, 137), (137, 450), (450, 600)]]
    np.testing.assert_array_equal(np.concatenate([ids for ids, _ in blocks]), whole_ids)
    np.testing.assert_array_equal(np.concatenate([cosines for _, cosines in blocks]), whole_cosines)
    assert not (whole_ids == np.arange(600)[:, None]).any()
    assert (np.diff(whole_cosines, axis=1) <= 0).all()


def test_hnsw_recall_is_high(record_property: pytest.RecordProperty) -> None:
    embeddings = unit_vectors(3000, 32, seed=3)
    recall = ann_recall(embeddings, 5, sample=500)
    record_property("hnsw_recall_at_5", recall)
    print(f"hnsw recall@5 on 3000 random 32-d vectors: {recall:.4f}")
    assert recall > 0.9


def test_joint_embeddings_dot_products_are_the_mean_cosine() -> None:
    per_model = [unit_vectors(50, dimension, seed) for seed, dimension in enumerate([8, 16, 12])]
    joint = joint_embeddings(per_model)
    np.testing.assert_allclose(joint @ joint.T, np.mean([e @ e.T for e in per_model], axis=0), atol=1e-6)
    np.testing.assert_array_equal(joint_embeddings(per_model[:1]), per_model[0])


def test_pool_has_no_self_pairs_no_repeats_and_keeps_the_best_rank() -> None:
    texts, embeddings = corpus()
    ids, cosines = neighbours(embeddings, 5)
    pool, counts = mine_pairs(texts, ids, cosines, embeddings, MiningSettings())
    pairs = [frozenset((text_key(a), text_key(b))) for a, b in zip(pool["text_a"], pool["text_b"])]
    assert all(len(pair) == 2 for pair in pairs)  # no text paired with itself or its near-duplicate
    assert len(set(pairs)) == len(pool)  # a-b and b-a count as one
    best_rank: dict[frozenset[str], int] = {}
    for row, (row_ids, ranks) in enumerate(zip(ids, np.tile(np.arange(1, 6), (len(ids), 1)))):
        for other, rank in zip(row_ids, ranks):
            pair = frozenset((text_key(texts[row]), text_key(texts[other])))
            best_rank[pair] = min(best_rank.get(pair, 99), int(rank))
    mined = pool[pool["rank"] > 0]
    assert [best_rank[pair] for pair, rank in zip(pairs, pool["rank"]) if rank > 0] == mined["rank"].tolist()
    assert counts["repeats"] > 0 and counts["self_pairs"] == 0
    assert counts["neighbour_pairs"] + counts["repeats"] + counts["near_duplicates"] == counts["neighbour_candidates"]


def test_near_duplicates_are_dropped() -> None:
    texts, embeddings = corpus()
    ids, cosines = neighbours(embeddings, 5)
    assert (ids[:20, 0] == np.arange(380, 400)).all()  # each original's best neighbour is its twin
    pool, counts = mine_pairs(texts, ids, cosines, embeddings, MiningSettings())
    assert counts["near_duplicates"] >= 40  # both directions of each of the 20 twins
    assert not (pool["text_a"].map(text_key) == pool["text_b"].map(text_key)).any()


def test_pool_columns_shares_and_cosines() -> None:
    texts, embeddings = corpus()
    ids, cosines = neighbours(embeddings, 5)
    pool, counts = mine_pairs(texts, ids, cosines, embeddings, MiningSettings(random_share=0.25))
    assert pool.dtypes.astype(str).tolist() == ["str", "str", "str", "int16", "float32"]
    assert (pool["source"] == "random").tolist() == (pool["rank"] == 0).tolist()
    assert counts["random_pairs"] == (pool["rank"] == 0).sum() == round(0.25 * len(pool))
    row = {text: i for i, text in enumerate(texts)}
    a, b = pool["text_a"].map(row).to_numpy(), pool["text_b"].map(row).to_numpy()
    np.testing.assert_allclose(pool["cosine"], np.einsum("ij,ij->i", embeddings[a], embeddings[b]), atol=1e-6)


def test_max_pairs_draws_both_parts_within_the_cap() -> None:
    texts, embeddings = corpus()
    ids, cosines = neighbours(embeddings, 5)
    full, _ = mine_pairs(texts, ids, cosines, embeddings, MiningSettings())
    capped, counts = mine_pairs(texts, ids, cosines, embeddings, MiningSettings(max_pairs=500))
    assert len(capped) == 500 and (capped["rank"] == 0).sum() == 100
    assert counts["neighbour_pairs"] == 400 and counts["over_cap"] == (full["rank"] > 0).sum() - 400
    mined = capped[capped["rank"] > 0].merge(full[full["rank"] > 0], how="left", indicator=True)
    assert (mined["_merge"] == "both").all()  # the capped neighbour pairs are a subset, not new pairs


def test_same_seed_same_pool_another_seed_another_random_part() -> None:
    texts, embeddings = corpus()
    ids, cosines = neighbours(embeddings, 5)
    first, _ = mine_pairs(texts, ids, cosines, embeddings, MiningSettings(seed=3))
    again, _ = mine_pairs(texts, ids, cosines, embeddings, MiningSettings(seed=3))
    other, _ = mine_pairs(texts, ids, cosines, embeddings, MiningSettings(seed=4))
    pd.testing.assert_frame_equal(first, again)
    pd.testing.assert_frame_equal(first[first["rank"] > 0], other[other["rank"] > 0])
    assert not first[first["rank"] == 0].reset_index(drop=True).equals(other[other["rank"] == 0].reset_index(drop=True))


def test_random_pairs_stop_when_the_corpus_runs_out() -> None:
    """Four texts have six unordered pairs; with neighbours taking some, asking for more random ones comes back
    short and says so rather than repeating a pair."""
    texts, embeddings = ["one", "two", "three", "four"], unit_vectors(4, 8, seed=5)
    ids, cosines = neighbours(embeddings, 1)
    pool, counts = mine_pairs(texts, ids, cosines, embeddings, MiningSettings(neighbours=1, random_share=0.9))
    assert counts["random_short"] > 0 and counts["random_pairs"] + counts["neighbour_pairs"] <= 6
    assert len({frozenset(pair) for pair in zip(pool["text_a"], pool["text_b"])}) == len(pool)


def test_balanced_draw_spreads_neighbour_pairs_evenly_over_cosine_bands() -> None:
    """From deep neighbour lists (mostly middling cosines), a balanced cap takes the same number from every band
    that has enough candidates and all of a band that has fewer; the uniform draw follows the candidates' skew."""
    texts, embeddings = corpus()
    ids, cosines = neighbours(embeddings, 40)
    settings = MiningSettings(neighbours=40, random_share=0.1, max_pairs=1000, seed=5)
    balanced, _ = mine_pairs(texts, ids, cosines, embeddings, replace(settings, balance=True))
    uniform, _ = mine_pairs(texts, ids, cosines, embeddings, settings)
    full, _ = mine_pairs(texts, ids, cosines, embeddings, replace(settings, max_pairs=None))

    def band_counts(pool: pd.DataFrame) -> pd.Series:
        mined = pool[pool["rank"] > 0]
        return np.floor(np.minimum(mined["cosine"], 1 - BAND / 2) / BAND).astype(int).value_counts()

    available, taken = band_counts(full), band_counts(balanced).reindex(band_counts(full).index, fill_value=0)
    assert taken.sum() == 900
    sparse = available < taken.max()
    assert (taken[sparse] == available[sparse]).all() and sparse.any()
    assert taken[~sparse].max() - taken[~sparse].min() <= 1 and (~sparse).sum() >= 3
    assert band_counts(uniform).max() > 1.5 * taken.max()  # uniform follows the skew
    again, _ = mine_pairs(texts, ids, cosines, embeddings, replace(settings, balance=True))
    pd.testing.assert_frame_equal(balanced, again)


def test_word_vectors_are_tf_idf_by_hand() -> None:
    texts = ["Red car red", "blue car", "a tree!", *(f"the word{i}" for i in range(20))]  # 'the': in 20 of 23
    vectors = word_vectors(texts).toarray()
    idf = {"red": np.log(23 / 1) + 1, "car": np.log(23 / 2) + 1, "blue": np.log(23 / 1) + 1}
    first = np.array([2 * idf["red"], idf["car"]])
    second = np.array([idf["car"], idf["blue"]])
    expected = float(first[1] * second[0] / np.linalg.norm(first) / np.linalg.norm(second))
    assert vectors.shape[0] == 23 and np.allclose(np.linalg.norm(vectors, axis=1), 1)
    assert (vectors @ vectors.T)[0, 1] == pytest.approx(expected)
    assert (vectors @ vectors.T)[0, 2] == 0  # no word in common
    assert (vectors @ vectors.T)[3, 4] == 0  # 'the' is in over COMMON_WORD_SHARE of the texts: left out


@pytest.mark.parametrize("chunk_rows", [7, 512])
def test_lexical_neighbours_equal_brute_force(chunk_rows: int) -> None:
    texts = word_texts(rows=120, twins=10)
    texts[50] = "zebra"  # no word in common with any other text: no neighbours
    vectors = word_vectors(texts).toarray()
    scores = vectors @ vectors.T
    np.fill_diagonal(scores, -np.inf)
    found = lexical_neighbours(texts, 6, chunk_rows=chunk_rows)
    assert found.shape == (120, 6) and not (found == np.arange(120)[:, None]).any()
    assert (found[50] == -1).all() and (np.delete(found, 50, axis=0) >= 0).all()
    for row in set(range(120)) - {50}:
        # best first; ties may order either way, so compare the scores, and the set above the 6th score
        np.testing.assert_allclose(scores[row, found[row]], np.sort(scores[row])[::-1][:6], atol=1e-12)
        assert set(np.flatnonzero(scores[row] > scores[row, found[row, -1]])) <= set(found[row])
    assert (found[:10, 0] == np.arange(110, 120)).all()  # a twin (same words) is its original's best


def test_lexical_pairs_join_the_pool_once_each() -> None:
    _, embeddings = corpus()
    texts = word_texts(rows=400, twins=20)
    ids, cosines = neighbours(embeddings, 5)
    lexical = lexical_neighbours(texts, 4)
    settings = MiningSettings(lexical=4)
    pool, counts = mine_pairs(texts, ids, cosines, embeddings, settings, lexical)
    assert set(pool["source"]) == set(SOURCES)
    pairs = [frozenset((text_key(a), text_key(b))) for a, b in zip(pool["text_a"], pool["text_b"])]
    assert all(len(pair) == 2 for pair in pairs) and len(set(pairs)) == len(pool)
    dense = {frozenset((text_key(texts[row]), text_key(texts[other]))) for row in range(len(texts))
             for other in ids[row, :5]}
    lexical_rows = pool["source"] == "lexical"
    assert not any(pair in dense for pair, is_lexical in zip(pairs, lexical_rows) if is_lexical)  # neighbour first
    assert counts["lexical_pairs"] == lexical_rows.sum() > 0
    assert counts["neighbour_pairs"] + counts["lexical_pairs"] + counts["repeats"] + counts["near_duplicates"] == \
        counts["neighbour_candidates"] + counts["lexical_candidates"]
    row = {text: i for i, text in enumerate(texts)}
    a, b = pool["text_a"].map(row).to_numpy(), pool["text_b"].map(row).to_numpy()
    np.testing.assert_allclose(pool["cosine"], np.einsum("ij,ij->i", embeddings[a], embeddings[b]), atol=1e-6)
    again, _ = mine_pairs(texts, ids, cosines, embeddings, settings, lexical)
    pd.testing.assert_frame_equal(pool, again)
    with pytest.raises(ValueError, match="lexical neighbours"):
        mine_pairs(texts, ids, cosines, embeddings, settings)
