"""Scores of predictions against golds: Spearman x100 (ROC-AUC x100 for 0/1 labels) and what chooses a cycle.

No model code: combining stored predictions (ensembles) and reading scores back need only this.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
from scipy.stats import rankdata, spearmanr

from models.config import PipelineConfig
from models.data import DEV, OWN_DEV, TEST_SETS

AVERAGE = "avg"  # the mean over the STS test sets
SPEARMAN = "spearman"
ROC_AUC = "roc_auc"
# search metrics (models/retrieval.py), each x100 and averaged over queries; nDCG@10 chooses with --dev-retrieval
NDCG10, MRR10, RECALL10, RECALL100 = "nDCG@10", "MRR@10", "R@10", "R@100"
RETRIEVAL_METRICS: tuple[str, ...] = (NDCG10, MRR10, RECALL10, RECALL100)


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
    """What chooses the best cycle: nDCG@10 on --dev-retrieval, else the user's --dev-pairs, else STS-B dev, else
    nothing (the last cycle)."""
    if config.dev_retrieval and config.evaluates:
        return NDCG10
    if config.dev_pairs and config.evaluates:
        return OWN_DEV
    return DEV if config.scores_sts else None
