"""Label arithmetic between scorers: numbers in, numbers out, no model."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def transform_labels(scores: np.ndarray, how: str) -> np.ndarray:
    """bi -> cross label transform: `raw` cosine (reference), `clip` to [0, 1], or `minmax` to [0, 1]."""
    scores = np.asarray(scores, dtype=np.float32)
    if how == "raw":
        return scores
    if how == "clip":
        return np.clip(scores, 0.0, 1.0)
    if how == "minmax":
        low, high = float(scores.min()), float(scores.max())
        return (scores - low) / (high - low) if high > low else np.full_like(scores, 0.5)
    raise ValueError(f"label transform must be raw, clip or minmax; got {how!r}")


def average_labels(label_sets: Sequence[np.ndarray]) -> np.ndarray:
    """Mutual distillation: every model of a kind learns from the mean of all models' labels."""
    if not label_sets:
        raise ValueError("no label sets to average")
    return np.mean(np.stack([np.asarray(s, dtype=np.float32) for s in label_sets]), axis=0)
