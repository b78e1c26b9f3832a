"""The corpus of issue 34's measured run: every distinct sentence of the `sts_sickr` pool, its pairing thrown away.

    python -m benchmarks.sts_corpus OUT.txt [--data-dir DIR]

Run `trans-encoder train --preset cpu --pool corpus --corpus-path OUT.txt` on it and compare with the preset on the
given pairs (benchmarks/RESULTS.md): how much of the paired setting mining recovers.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from models.data import benchmark_dir, load_pool


def sts_sentences(data_dir: Path | None) -> list[str]:
    """Each distinct sentence of the pool, in pool order (text_a and text_b of a row side by side)."""
    pool = load_pool("sts_sickr", data_dir)
    return list(dict.fromkeys(text.strip() for pair in zip(pool["text_a"], pool["text_b"]) for text in pair))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--data-dir", default=None, help="STS folder (default: $STS_DATA_DIR, else the hub)")
    args = parser.parse_args()
    texts = sts_sentences(benchmark_dir(args.data_dir))
    args.out.write_text("\n".join(texts) + "\n")
    print(f"wrote {len(texts):,} distinct sentences to {args.out}")


if __name__ == "__main__":
    main()
