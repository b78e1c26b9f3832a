"""STS evaluation: Spearman x100 of model similarities against gold scores (SentEval-style 'all')."""
from __future__ import annotations

from typing import Mapping

import numpy as np
from scipy.stats import rankdata, spearmanr

from models.encoders.bi_encoder import BiEncoder, pair_cosines
from models.encoders.cross_encoder import CrossEncoder
from models.config import PipelineConfig
from models.data import DEV, OWN_DEV, TEST_SETS, LabelledPairs
from models.progress import ProgressFn
from models.runtime import Runtime

AVERAGE = "avg"


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


def scores_of(predictions: Mapping[str, np.ndarray], golds: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Spearman x100 per set (ROC-AUC x100 for a 0/1-labelled own dev set), the average over the STS test sets
    when there are any, then the dev sets."""
    scores = {name: _metric(name, predictions[name], golds[name]) for name in predictions}
    tests = [value for name, value in scores.items() if name in TEST_SETS]
    ordered = {name: value for name, value in scores.items() if name in TEST_SETS}
    if tests:
        ordered[AVERAGE] = float(np.mean(tests))
    return ordered | {name: value for name, value in scores.items() if name not in TEST_SETS}


def _metric(name: str, predicted: np.ndarray, gold: np.ndarray) -> float:
    if name == OWN_DEV and metric_for(gold) == ROC_AUC:
        return roc_auc100(predicted, gold)
    return spearman100(predicted, gold)


def selection_metric(config: PipelineConfig) -> str | None:
    """What chooses the best cycle: the user's --dev-pairs, else STS-B dev, else nothing (the last cycle)."""
    if config.dev_pairs and config.evaluates:
        return OWN_DEV
    return DEV if config.scores_sts else None


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
