"""retrieval-scores: a cycle's bi-encoder searches the --dev-retrieval task (each query's top 100), or its
cross-encoder reranks the top --rerank-k of that search; one row per query (its ranking and metrics), so a cached
output reports the same means and the cross-encoder's call reads the bi-encoder's ranking instead of searching again.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from artifacts.atomic import atomic_path
from artifacts.store import Artifact
from models.data.retrieval_task import load_task
from models.encoders.loading import load_encoder, start_pooling
from models.retrieval import mean_metrics, rerank, retrieve, score_rankings
from pipeline.stage import Kind, Metrics, Stage, StageContext, Writes


def run(context: StageContext) -> Metrics:
    config, runtime, kind = context.config, context.runtime, context.params.kind
    assert config.dev_retrieval is not None and kind is not None, "a retrieval-scores call names the task and kind"
    task = load_task(config.dev_retrieval, config.text_a, config.text_b, config.label_column, config.encoding)
    model = load_encoder(kind, context.input_path("model"), start_pooling(config), config.eval_max_length)
    model.to(runtime.device)
    if kind == "bi":
        rankings = retrieve(model, task, config.eval_batch_size, runtime.dtype, context.progress)  # type: ignore[arg-type]
    else:
        searched = [list(ranking) for ranking in pd.read_parquet(context.input_path("ranking"))["ranking"]]
        rankings = rerank(model, task, searched, config.rerank_k, config.eval_batch_size,  # type: ignore[arg-type]
                          runtime.dtype, context.progress)
    rows = score_rankings(task, rankings)
    with atomic_path(context.target) as temp:
        rows.to_parquet(temp, index=False)
    return mean_metrics(rows)


def stored_metrics(artifact: Artifact) -> Metrics:
    return mean_metrics(pd.read_parquet(Path(artifact.path)))


# inputs: `model` (a bi-encoder), or `model` (a cross-encoder) and `ranking` (its bi-encoder's output of this stage)
STAGE = Stage("retrieval-scores", run, Kind.SCORING, Writes.PARQUET, inputs=None,
              settings=("pooling", "eval_max_length", "rerank_k", "text_a", "text_b", "label_column", "encoding",
                        "precision", "device"),
              stored_metrics=stored_metrics)
