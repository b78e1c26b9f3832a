"""The label-free warm-ups as one family: Mirror-BERT, SimCSE and IS-BERT, one module each behind `Warmup`."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from models.config import PipelineConfig
from models.encoders.bi_encoder import BiEncoder
from models.progress import ProgressFn
from models.runtime import Runtime
from models.training.trainer import OptimSettings, TrainStats, train
from models.warmup.base import Warmup
from models.warmup.isbert import ISBERT
from models.warmup.mirror import MirrorBERT
from models.warmup.simcse import SimCSE

METHODS: dict[str, type[Warmup]] = {"mirror": MirrorBERT, "simcse": SimCSE, "isbert": ISBERT}


def warm_up(bi: BiEncoder, sentences: Sequence[str], config: PipelineConfig, runtime: Runtime,
            progress: ProgressFn | None = None) -> TrainStats | None:
    """Label-free tuning of `bi` in place on up to `warmup_sentences` distinct pool sentences.

    `none`: nothing to do (the start model is already a sentence encoder)."""
    if config.warmup == "none":
        return None
    texts = sample_unique(sentences, config.warmup_sentences, runtime.seed)
    method = METHODS[config.warmup](bi, config, runtime)
    method.prepare()
    settings = OptimSettings(lr=config.warmup_lr, batch_size=config.warmup_batch_size, epochs=config.warmup_epochs,
                             weight_decay=config.weight_decay, max_steps=config.max_steps)
    bi.to(runtime.device)
    return train(bi, len(texts), lambda index: method.loss([texts[i] for i in index]), settings, runtime.seed,
                 runtime.device, runtime.dtype, f"warm-up ({config.warmup})", progress)


def sample_unique(sentences: Sequence[str], limit: int, seed: int) -> list[str]:
    """Up to `limit` distinct sentences, a seeded sample when there are more."""
    unique = list(dict.fromkeys(sentences))
    if len(unique) <= limit:
        return unique
    picked = np.random.default_rng(seed).choice(len(unique), size=limit, replace=False)
    return [unique[i] for i in sorted(picked)]
