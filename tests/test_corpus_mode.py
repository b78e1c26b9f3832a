"""benchmarks/corpus_mode.py's word-overlap table: the Jaccard index of the two texts' words, per label band."""
from __future__ import annotations

import pandas as pd

from benchmarks.corpus_mode import word_overlap


def test_word_overlap_per_label_band_by_hand() -> None:
    pairs = pd.DataFrame({"text_a": ["A red car.", "the cat", "one two"], "text_b": ["a blue car", "a dog", "two"],
                          "label": [-0.3, 0.95, 0.5]})
    rows = word_overlap({"pool": pairs})
    assert rows[:2] == ["| label | pool |", "|---|---|"]
    assert rows[2:] == ["| below 0.2 | 0.50 |",  # {a, red, car} and {a, blue, car}: 2 of 4 words; a negative label
                        "| 0.2 to 0.4 | - |",
                        "| 0.4 to 0.6 | 0.50 |",  # {one, two} and {two}
                        "| 0.6 to 0.8 | - |",
                        "| 0.8 and up | 0.00 |"]
