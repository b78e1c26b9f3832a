"""The inductive baseline's pairs (benchmarks/sts_corpus.py): the given pool less exactly the STS test pairs."""
from __future__ import annotations

from pathlib import Path

from benchmarks.sts_corpus import pair_key, pairs_without_test, sts_test_pairs
from models.data import load_pool


def test_the_pairs_without_test_drop_every_sts_test_pair_in_either_order_and_nothing_else(sts_dir: Path) -> None:
    pool, kept, test_pairs = load_pool("sts_sickr", sts_dir), pairs_without_test(sts_dir), sts_test_pairs(sts_dir)
    in_pool = [pair_key(a, b) in test_pairs for a, b in zip(pool["text_a"], pool["text_b"])]
    assert 0 < sum(in_pool) < len(pool), "the given pool holds some STS test pairs, not only those"
    assert len(kept) == len(pool) - sum(in_pool)
    assert not {pair_key(a, b) for a, b in zip(kept["sentence1"], kept["sentence2"])} & test_pairs
    swapped = {pair_key(b.upper(), f"  {a} ") for a, b in zip(kept["sentence1"], kept["sentence2"])}
    assert not swapped & test_pairs, "order, case and spacing do not hide a test pair"
    assert list(kept.columns) == ["sentence1", "sentence2"], "the columns a custom pool reads by default"
