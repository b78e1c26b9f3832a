"""The inputs of issue 34's measured runs: every distinct sentence of the `sts_sickr` pool with its pairing thrown
away (the corpus), and the pool's pairs less the pairs of the 7 STS test sets (the given-pairs run made inductive).

    python -m benchmarks.sts_corpus OUT.txt [--data-dir DIR]                        # the corpus
    python -m benchmarks.sts_corpus OUT.csv --pairs-without-test [--data-dir DIR]   # the pairs, test pairs removed

Run `trans-encoder train --preset cpu --pool corpus --corpus-path OUT.txt` on the first and `--pool custom
--pool-path OUT.csv` on the second, and compare them with the preset on the given pairs (benchmarks/CORPUS.md): a
given pool holds a third of the STS test pairs (transductive, as in the paper), a mined pool only the few mining
pairs again, so the pairs without them are the like-for-like baseline.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from models.data import benchmark_dir, load_pool, load_test_sets
from models.mining import text_key

PairKey = tuple[str, str]


def sts_sentences(data_dir: Path | None) -> list[str]:
    """Each distinct sentence of the pool, in pool order (text_a and text_b of a row side by side)."""
    pool = load_pool("sts_sickr", data_dir)
    return list(dict.fromkeys(text.strip() for pair in zip(pool["text_a"], pool["text_b"]) for text in pair))


def pair_key(a: str, b: str) -> PairKey:
    """One key per unordered pair, up to case and spacing (as mining compares texts)."""
    return tuple(sorted((text_key(a), text_key(b))))  # type: ignore[return-value]


def sts_test_pairs(data_dir: Path | None) -> set[PairKey]:
    """The pairs of the 7 STS test sets, as pair keys."""
    return {pair_key(a, b) for pairs in load_test_sets(data_dir).values()
            for a, b in zip(pairs.sentences1, pairs.sentences2)}


def pairs_without_test(data_dir: Path | None) -> pd.DataFrame:
    """The pool's pairs that are no STS test pair (in either order, up to case and spacing), in pool order, in the
    columns a custom pool reads by default."""
    pool, test_pairs = load_pool("sts_sickr", data_dir), sts_test_pairs(data_dir)
    kept = [pair_key(a, b) not in test_pairs for a, b in zip(pool["text_a"], pool["text_b"])]
    return pool.loc[kept, ["text_a", "text_b"]].rename(columns={"text_a": "sentence1", "text_b": "sentence2"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--pairs-without-test", action="store_true",
                        help="write the pool's pairs less the STS test pairs (CSV: sentence1, sentence2) instead")
    parser.add_argument("--data-dir", default=None, help="STS folder (default: $STS_DATA_DIR, else the hub)")
    args = parser.parse_args()
    data_dir = benchmark_dir(args.data_dir)
    if args.pairs_without_test:
        pairs = pairs_without_test(data_dir)
        pairs.to_csv(args.out, index=False)
        print(f"wrote {len(pairs):,} pairs (the pool less its STS test pairs) to {args.out}")
        return
    texts = sts_sentences(data_dir)
    args.out.write_text("\n".join(texts) + "\n")
    print(f"wrote {len(texts):,} distinct sentences to {args.out}")


if __name__ == "__main__":
    main()
