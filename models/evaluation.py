"""STS evaluation: Spearman x100 of model similarities against gold scores (SentEval-style 'all')."""
from __future__ import annotations

from typing import Mapping

import numpy as np
from scipy.stats import spearmanr

from models.bi_encoder import BiEncoder
from models.cross_encoder import CrossEncoder
from models.data import LabelledPairs
from models.progress import ProgressFn
from models.runtime import Runtime

AVERAGE = "avg"
DEV = "dev"


def spearman100(predicted: np.ndarray, gold: np.ndarray) -> float:
    return float(spearmanr(predicted, gold).statistic * 100)


def evaluate(model: BiEncoder | CrossEncoder, test_sets: Mapping[str, LabelledPairs], dev: LabelledPairs | None,
             runtime: Runtime, batch_size: int = 128, progress: ProgressFn | None = None) -> dict[str, float]:
    """Spearman x100 on each test set, their average, and STS-B dev when given.

    Bi-encoders are scored by cosine, cross-encoders by their (a, b) score, as the reference does.
    """
    model.to(runtime.device)
    scores = {name: _score(model, pairs, runtime, batch_size, progress) for name, pairs in test_sets.items()}
    scores[AVERAGE] = float(np.mean(list(scores.values())))
    if dev is not None:
        scores[DEV] = _score(model, dev, runtime, batch_size, progress)
    return scores


def _score(model: BiEncoder | CrossEncoder, pairs: LabelledPairs, runtime: Runtime, batch_size: int,
           progress: ProgressFn | None) -> float:
    if isinstance(model, BiEncoder):
        predicted = model.similarity(pairs.sentences1, pairs.sentences2, batch_size, runtime.dtype, progress)
    else:
        predicted = model.score(pairs.sentences1, pairs.sentences2, False, batch_size, runtime.dtype, progress)
    return spearman100(predicted, pairs.scores)
