"""STS evaluation: Spearman x100 of model similarities against gold scores (SentEval-style 'all')."""
from __future__ import annotations

from typing import Mapping

import numpy as np

from models.data import DEV, LabelledPairs
from models.encoders.bi_encoder import BiEncoder, pair_cosines
from models.encoders.cross_encoder import CrossEncoder
from models.metrics import ROC_AUC, metric_for, roc_auc100, scores_of, spearman100
from models.progress import ProgressFn
from models.runtime import Runtime


def evaluate(model: BiEncoder | CrossEncoder, test_sets: Mapping[str, LabelledPairs], dev: LabelledPairs | None,
             runtime: Runtime, batch_size: int = 128, progress: ProgressFn | None = None) -> dict[str, float]:
    """Spearman x100 on each test set, their average, and STS-B dev when given.

    Bi-encoders are scored by cosine, cross-encoders by their (a, b) score, as the reference does.
    """
    sets = benchmark_sets(test_sets, dev)
    return scores_of(predict_sets(model, sets, runtime, batch_size, progress), {n: p.scores for n, p in sets.items()})


def benchmark_sets(test_sets: Mapping[str, LabelledPairs], dev: LabelledPairs | None) -> dict[str, LabelledPairs]:
    """The test sets, then STS-B dev under the name `dev` when given."""
    return {**test_sets, **({DEV: dev} if dev is not None else {})}


def predict_sets(model: BiEncoder | CrossEncoder, sets: Mapping[str, LabelledPairs], runtime: Runtime,
                 batch_size: int = 128, progress: ProgressFn | None = None) -> dict[str, np.ndarray]:
    model.to(runtime.device)
    if isinstance(model, BiEncoder):  # one pass over the sets' distinct sentences: STS-B repeats STS12-16's
        embeddings, row = model.embed_distinct([t for p in sets.values() for t in (*p.sentences1, *p.sentences2)],
                                               batch_size, runtime.dtype, progress)
        return {name: pair_cosines(embeddings, row, p.sentences1, p.sentences2) for name, p in sets.items()}
    return {name: _predict(model, pairs, runtime, batch_size, progress) for name, pairs in sets.items()}


def evaluate_pairs(model: BiEncoder | CrossEncoder, pairs: LabelledPairs, runtime: Runtime, batch_size: int = 128,
                   progress: ProgressFn | None = None) -> dict[str, float | str | int]:
    """A user's labelled pairs: Spearman x100 when graded, ROC-AUC x100 when 0/1."""
    model.to(runtime.device)
    predicted = _predict(model, pairs, runtime, batch_size, progress)
    metric = metric_for(pairs.scores)
    value = roc_auc100(predicted, pairs.scores) if metric == ROC_AUC else spearman100(predicted, pairs.scores)
    return {"file": pairs.name, "metric": metric, "value": value, "pairs": len(pairs)}


def _predict(model: BiEncoder | CrossEncoder, pairs: LabelledPairs, runtime: Runtime, batch_size: int,
             progress: ProgressFn | None) -> np.ndarray:
    if isinstance(model, BiEncoder):
        return model.similarity(pairs.sentences1, pairs.sentences2, batch_size, runtime.dtype, progress)
    return model.score(pairs.sentences1, pairs.sentences2, False, batch_size, runtime.dtype, progress)
