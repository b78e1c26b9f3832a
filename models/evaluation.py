"""STS evaluation: Spearman x100 of model similarities against gold scores (SentEval-style 'all')."""
from __future__ import annotations

from typing import Mapping

import numpy as np
from scipy.stats import rankdata, spearmanr

from models.bi_encoder import BiEncoder
from models.cross_encoder import CrossEncoder
from models.data import LabelledPairs
from models.progress import ProgressFn
from models.runtime import Runtime

AVERAGE = "avg"
DEV = "dev"


SPEARMAN = "spearman"
ROC_AUC = "roc_auc"


def spearman100(predicted: np.ndarray, gold: np.ndarray) -> float:
    return float(spearmanr(predicted, gold).statistic * 100)


def roc_auc100(predicted: np.ndarray, gold: np.ndarray) -> float:
    """ROC-AUC x100 of scores against 0/1 labels, as the Mann-Whitney U statistic (ties count half)."""
    positive = gold == 1
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    ranks = rankdata(predicted)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg) * 100)


def metric_for(gold: np.ndarray) -> str:
    """ROC-AUC for binary 0/1 labels (paraphrase identification), Spearman for graded ones."""
    return ROC_AUC if set(np.unique(gold).tolist()) <= {0.0, 1.0} else SPEARMAN


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


def _score(model: BiEncoder | CrossEncoder, pairs: LabelledPairs, runtime: Runtime, batch_size: int,
           progress: ProgressFn | None) -> float:
    return spearman100(_predict(model, pairs, runtime, batch_size, progress), pairs.scores)
