"""Each stage as file-in, file-out: read its input artifacts, run one models/ function, write its artifact.

No Prefect here: the Prefect tasks (tasks/stages.py) and the plain runner (flows/plain.py) both call
`run_stage`, so a stage behaves the same under either. Every stage seeds python, numpy and torch
first, so its output depends on its inputs and settings only, not on what ran before it.
"""
from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from artifacts.atomic import atomic_path
from artifacts.pairs import (read_labelled, read_pool, read_predictions, write_labelled, write_pool,
                             write_predictions)
from artifacts.store import Artifact, Store
from models.config import PipelineConfig
from models.data import evaluation_sets, load_run_pool
from models.encoders.bi_encoder import BiEncoder
from models.encoders.embedding_cache import cache_root
from models.evaluation import predict_sets, scores_of
from models.memory import peak_rss, release_free_memory
from models.progress import ProgressFn
from models.runtime import Runtime, seed_everything
from models.training import folders
from models.training.stages import average_labels, transform_labels

Inputs = Mapping[str, Artifact]
Params = Mapping[str, Any]


@dataclass(frozen=True)
class StageResult:
    """What a stage returns (and Prefect persists): its artifact and what it measured."""

    artifact: Artifact
    metrics: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    peak_rss_mb: float | None = None  # this stage's largest resident set (None when it was cached)
    worker: str | None = None  # host:pid of the process that ran it (a Ray worker, or the command itself)


def run_stage(stage: str, config: PipelineConfig, inputs: Inputs, params: Params, cycle: int | None,
              target: Path, progress: ProgressFn | None = None) -> StageResult:
    """Run `stage` into `target` (written atomically, then sealed with its digest), measuring its peak memory."""
    started = time.perf_counter()
    seed_everything(config.seed)
    member = config.for_member(params["model"]) if "model" in params else config
    with peak_rss() as peak:
        metrics = STAGES[stage](member, inputs, params, cycle, target, progress)
    release_free_memory()
    return StageResult(Store.seal(target), metrics, round(time.perf_counter() - started, 2), peak.mb,
                       f"{socket.gethostname()}:{os.getpid()}")


def stored_metrics(stage: str, artifact: Artifact) -> dict[str, Any]:
    """What a stored output measured, read back from it: the scores of a predictions artifact, else nothing."""
    if stage == "pool":
        return {"pairs": pq.ParquetFile(artifact.path).metadata.num_rows}
    if stage not in ("scores", "ensemble-scores"):
        return {}
    return scores_of(*_by_set(read_predictions(Path(artifact.path))))


def _frozen_cache(config: PipelineConfig, cycle: int | None) -> Path | None:
    """The machine's embedding cache for a stage outside the cycles (cycle None: the start models' scores, the
    frozen labellers' labels), whose models no stage trained; None when turned off."""
    return cache_root() if config.embedding_cache and cycle is None else None


def _runtime(config: PipelineConfig) -> Runtime:
    return Runtime.create(config.device, config.precision, config.seed)  # type: ignore[arg-type]


def _pool(config: PipelineConfig, inputs: Inputs, params: Params, cycle: int | None, target: Path,
          progress: ProgressFn | None) -> dict[str, Any]:
    """Read the unlabelled pairs (and check the evaluation sets can be read) before any long work."""
    pool = load_run_pool(config)
    evaluation_sets(config)
    write_pool(target, pool)
    return {"pairs": len(pool), **pool.attrs.get("tidy", {})}


def _warmup(config: PipelineConfig, inputs: Inputs, params: Params, cycle: int | None, target: Path,
            progress: ProgressFn | None) -> dict[str, Any]:
    frame = read_pool(Path(inputs["pool"].path))
    with atomic_path(target, is_dir=True) as temp:
        stats = folders.warm_up_folder(config, [*frame["text_a"], *frame["text_b"]], _runtime(config), temp, progress)
    return stats.to_dict() if stats else {"skipped": "warmup none"}


def _pool_rows(inputs: Inputs, params: Params) -> pd.DataFrame:
    """The pool, or the shard of it that `params["rows"]` ([start, stop)) names."""
    frame = read_pool(Path(inputs["pool"].path))
    if "rows" not in params:
        return frame
    start, stop = params["rows"]
    return frame.iloc[start:stop].reset_index(drop=True)


def _bi_labels(config: PipelineConfig, inputs: Inputs, params: Params, cycle: int | None, target: Path,
               progress: ProgressFn | None) -> dict[str, Any]:
    """Cosines of the pool's pairs. A shard stores them raw: a transform such as minmax needs the whole pool, so
    the merge applies it."""
    frame = _pool_rows(inputs, params)
    cosine = folders.bi_labels(Path(inputs["bi"].path), frame["text_a"].tolist(), frame["text_b"].tolist(), config,
                               _runtime(config), progress, _frozen_cache(config, cycle))
    transform = "raw" if "rows" in params else config.label_transform
    labels = transform_labels(cosine, transform)
    write_labelled(target, frame, labels, "bi-encoder", cycle or 0, transform)
    return _label_stats(labels)


def _cross_labels(config: PipelineConfig, inputs: Inputs, params: Params, cycle: int | None, target: Path,
                  progress: ProgressFn | None) -> dict[str, Any]:
    frame = _pool_rows(inputs, params)
    labels = folders.cross_labels(Path(inputs["cross"].path), frame["text_a"].tolist(), frame["text_b"].tolist(),
                                  config, _runtime(config), progress)
    write_labelled(target, frame, labels, "cross-encoder", cycle or 0,
                   "sigmoid-symmetric" if config.symmetric else "sigmoid")
    return _label_stats(labels)


def _average_labels(config: PipelineConfig, inputs: Inputs, params: Params, cycle: int | None, target: Path,
                    progress: ProgressFn | None) -> dict[str, Any]:
    """Mutual distillation's teacher: the mean of every scorer's labels, each scorer kept as a column."""
    frames = {name: read_labelled(Path(artifact.path)) for name, artifact in inputs.items()}
    first = next(iter(frames.values()))
    for name, frame in frames.items():
        if not (frame["text_a"].equals(first["text_a"]) and frame["text_b"].equals(first["text_b"])):
            raise ValueError(f"labels of {name} are not over the same pairs as the others")
    columns = {name: frame["label"].to_numpy() for name, frame in frames.items()}
    labels = average_labels(list(columns.values()))
    write_labelled(target, first, labels, "mean of " + ", ".join(columns), cycle or 0,
                   str(first["label_transform"].iloc[0]), scorers=columns)
    return _label_stats(labels) | {"scorers": list(columns)}


def _merge_labels(config: PipelineConfig, inputs: Inputs, params: Params, cycle: int | None, target: Path,
                  progress: ProgressFn | None) -> dict[str, Any]:
    """The shards of one pool labelling, joined in row order into the artifact the unsharded stage writes."""
    frame = pd.concat([read_labelled(Path(artifact.path)) for artifact in inputs.values()], ignore_index=True)
    labels, transform = frame["label"].to_numpy(), str(frame["label_transform"].iloc[0])
    if params["labelling"] == "bi-labels":
        labels, transform = transform_labels(labels, config.label_transform), config.label_transform
    write_labelled(target, frame, labels, str(frame["labelled_by"].iloc[0]), cycle or 0, transform)
    return _label_stats(labels) | {"shards": len(inputs)}


def _train_on_labels(train_folder: Callable[..., Any]) -> Callable[..., dict[str, Any]]:
    """A stage that trains a model starting at `inputs["start"]` on `inputs["labels"]`."""

    def stage(config: PipelineConfig, inputs: Inputs, params: Params, cycle: int | None, target: Path,
              progress: ProgressFn | None) -> dict[str, Any]:
        frame = read_labelled(Path(inputs["labels"].path))
        with atomic_path(target, is_dir=True) as temp:
            stats = train_folder(inputs["start"].path, frame["text_a"].tolist(), frame["text_b"].tolist(),
                                 frame["label"].to_numpy(), config, _runtime(config), temp, progress)
        return stats.to_dict()

    return stage


def _scores(config: PipelineConfig, inputs: Inputs, params: Params, cycle: int | None, target: Path,
            progress: ProgressFn | None) -> dict[str, Any]:
    """Spearman x100 on the 7 STS test sets and STS-B dev, and the user's --dev-pairs (Spearman or ROC-AUC);
    every pair's prediction is stored for ensembles."""
    sets = evaluation_sets(config)
    model = folders.load_encoder(params["kind"], inputs["model"].path, folders.start_pooling(config),
                                 config.eval_max_length)
    if isinstance(model, BiEncoder):
        model.embedding_cache = _frozen_cache(config, cycle)
    predictions = predict_sets(model, sets, _runtime(config), config.eval_batch_size, progress)
    golds = {name: pairs.scores for name, pairs in sets.items()}
    write_predictions(target, predictions, golds)
    return scores_of(predictions, golds)


def _ensemble_scores(config: PipelineConfig, inputs: Inputs, params: Params, cycle: int | None, target: Path,
                     progress: ProgressFn | None) -> dict[str, Any]:
    """The ensemble of several models: the mean of their stored predictions, scored like one model."""
    frames = [read_predictions(Path(artifact.path)) for artifact in inputs.values()]
    mean = frames[0].assign(prediction=np.mean([frame["prediction"].to_numpy() for frame in frames], axis=0))
    predictions, golds = _by_set(mean)
    write_predictions(target, predictions, golds)
    return scores_of(predictions, golds)


def _by_set(frame: pd.DataFrame) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(predictions, golds) per benchmark set of a predictions artifact."""
    masks = {name: (frame["set"] == name).to_numpy() for name in dict.fromkeys(frame["set"])}
    return ({n: frame["prediction"].to_numpy()[m] for n, m in masks.items()},
            {n: frame["gold"].to_numpy()[m] for n, m in masks.items()})


def _label_stats(labels: np.ndarray) -> dict[str, Any]:
    return {"pairs": int(len(labels)), "mean": float(np.mean(labels)), "std": float(np.std(labels)),
            "min": float(np.min(labels)), "max": float(np.max(labels))}


STAGES: dict[str, Callable[..., dict[str, Any]]] = {
    "pool": _pool,
    "warmup": _warmup,
    "bi-labels": _bi_labels,
    "average-labels": _average_labels,
    "cross": _train_on_labels(folders.train_cross_folder),
    "cross-labels": _cross_labels,
    "merge-labels": _merge_labels,
    "bi": _train_on_labels(folders.train_bi_folder),
    "scores": _scores,
    "ensemble-scores": _ensemble_scores,
}
