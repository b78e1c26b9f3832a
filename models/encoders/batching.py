"""Length-sorted batching for inference: similar lengths share a batch, so little padding is computed."""
from __future__ import annotations

from typing import Sequence

import numpy as np
from transformers import PretrainedConfig


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[np.ndarray]:
    """Index arrays covering every item once, longest first (an out-of-memory error shows at once)."""
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    order = np.argsort(-np.asarray(lengths), kind="stable")
    return [order[start:start + batch_size] for start in range(0, len(order), batch_size)]


def usable_max_length(requested: int, config: PretrainedConfig) -> int:
    """`requested`, cut to what the position embeddings hold (two kept spare: RoBERTa offsets positions by 2)."""
    positions = getattr(config, "max_position_embeddings", None)
    return min(requested, positions - 2) if positions else requested
