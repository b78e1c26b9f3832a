"""Helpers several stages share; no model code, so a stage that imports this reaches no encoder through it."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from artifacts.atomic import atomic_path
from artifacts.pairs import read_labelled, read_pool, read_predictions, stored_metrics
from artifacts.store import Artifact
from models.metrics import scores_of
from pipeline.stage import Metrics, StageContext


def pool_rows(context: StageContext) -> pd.DataFrame:
    """The pool, or the shard of it that the call's `rows` ([start, stop)) names."""
    frame = read_pool(context.input_path("pool"))
    if context.params.rows is None:
        return frame
    start, stop = context.params.rows
    return frame.iloc[start:stop].reset_index(drop=True)


def label_stats(labels: np.ndarray) -> Metrics:
    return {"pairs": int(len(labels)), "mean": float(np.mean(labels)), "std": float(np.std(labels)),
            "min": float(np.min(labels)), "max": float(np.max(labels))}


def by_set(frame: pd.DataFrame) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(predictions, golds) per benchmark set of a predictions artifact."""
    masks = {name: (frame["set"] == name).to_numpy() for name in dict.fromkeys(frame["set"])}
    return ({n: frame["prediction"].to_numpy()[m] for n, m in masks.items()},
            {n: frame["gold"].to_numpy()[m] for n, m in masks.items()})


def stored_scores(artifact: Artifact) -> Metrics:
    """The scores of a stored predictions artifact (what a cached scores stage reports)."""
    return scores_of(*by_set(read_predictions(Path(artifact.path))))


def stored_file_metrics(artifact: Artifact) -> Metrics:
    """What a stage kept in its Parquet footer when it ran (the corpus's tidying, the mined pool's counts)."""
    return stored_metrics(Path(artifact.path))


def stored_pairs(artifact: Artifact) -> Metrics:
    return {"pairs": pq.ParquetFile(artifact.path).metadata.num_rows}


def train_on_labels(context: StageContext, model: Any, fit: Callable[..., Any]) -> Metrics:
    """A training stage's body: `fit` the loaded start `model` to the labelled pairs, then save it as the output."""
    frame = read_labelled(context.input_path("labels"))
    stats = fit(model, frame["text_a"].tolist(), frame["text_b"].tolist(), frame["label"].to_numpy(), context.config,
                context.runtime, context.progress)
    with atomic_path(context.target, is_dir=True) as temp:
        model.save(temp)
    return stats.to_dict()
