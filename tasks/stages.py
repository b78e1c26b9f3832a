"""The stages as Prefect tasks: each reads artifacts, runs one models/ function and writes one artifact.

Caching: the flow hands every task its content-addressed `target` path (see tasks/keys.py),
and the Prefect cache key is that address. When the stored artifact is missing or no longer
matches its digest, the flow calls the task with `refresh_cache=True`, so the stage runs again
and rewrites it. Results persist in `<out>/.prefect-results`, so a rerun hits the cache even
with a fresh Prefect database.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from prefect import task
from prefect.context import TaskRunContext

from artifacts.atomic import atomic_path, write_text_atomic
from artifacts.pairs import read_labelled, read_pool, write_labelled, write_pool
from artifacts.store import Artifact, Store
from models import folders
from models.config import PipelineConfig
from models.data import load_benchmarks
from models.pipeline import data_dir_of, load_run_pool
from models.runtime import Runtime
from models.stages import transform_labels
from models.trainer import TrainStats
from tasks.progress import ui_progress


@dataclass(frozen=True)
class StageResult:
    """What a stage task returns (and Prefect persists): its artifact and what it measured."""

    artifact: Artifact
    metrics: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def target_cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    """The content address of the task's output artifact (see tasks/keys.py)."""
    path = Path(parameters["target"])
    return f"{path.parent.name}-{path.name}"


def _runtime(config: PipelineConfig) -> Runtime:
    return Runtime.create(config.device, config.precision, config.seed)  # type: ignore[arg-type]


def _finish(target: Path, started: float, metrics: dict[str, Any] | None = None) -> StageResult:
    return StageResult(Store.seal(target), metrics or {}, round(time.perf_counter() - started, 2))


def stage_task(name: str, task_run_name: str):  # noqa: ANN201 - a Prefect task decorator
    """Every stage task is cached by its target's content address and persists its result."""
    return task(name=name, task_run_name=task_run_name, cache_key_fn=target_cache_key, persist_result=True)


@stage_task(name="load-pool", task_run_name="load pool")
def load_pool_task(config: PipelineConfig, target: str) -> StageResult:
    """Read the unlabelled pairs (and check the benchmarks can be read) before any long work."""
    started = time.perf_counter()
    pool = load_run_pool(config)
    load_benchmarks(data_dir_of(config))
    write_pool(Path(target), pool)
    return _finish(Path(target), started, {"pairs": len(pool)})


@stage_task(name="warm-up", task_run_name="warm-up ({config.warmup})")
def warm_up_task(config: PipelineConfig, pool: Artifact, target: str) -> StageResult:
    started = time.perf_counter()
    frame = read_pool(Path(pool.path))
    sentences = [*frame["text_a"], *frame["text_b"]]
    with atomic_path(Path(target), is_dir=True) as temp:
        stats = folders.warm_up_folder(config, sentences, _runtime(config), temp, ui_progress("warm-up"))
    return _finish(Path(target), started, stats.to_dict() if stats else {"skipped": "warmup none"})


@stage_task(name="bi-labels", task_run_name="cycle {cycle}: label pairs with the bi-encoder")
def bi_labels_task(config: PipelineConfig, bi: Artifact, pool: Artifact, cycle: int, target: str) -> StageResult:
    def label(texts_a: list[str], texts_b: list[str]) -> np.ndarray:
        cosine = folders.bi_labels(Path(bi.path), texts_a, texts_b, config, _runtime(config),
                                   ui_progress(f"cycle {cycle} bi-encoder labels"))
        return transform_labels(cosine, config.label_transform)

    return _label_pool(label, pool, target, "bi-encoder", cycle, config.label_transform)


@stage_task(name="fit-cross-encoder", task_run_name="cycle {cycle}: fit cross-encoder")
def fit_cross_task(config: PipelineConfig, start: Artifact, labels: Artifact, cycle: int,
                   target: str) -> StageResult:
    return _train_on_labels(folders.train_cross_folder, config, start, labels, target,
                            f"cycle {cycle} fit cross-encoder")


@stage_task(name="cross-labels", task_run_name="cycle {cycle}: label pairs with the cross-encoder")
def cross_labels_task(config: PipelineConfig, cross: Artifact, pool: Artifact, cycle: int,
                      target: str) -> StageResult:
    def label(texts_a: list[str], texts_b: list[str]) -> np.ndarray:
        return folders.cross_labels(Path(cross.path), texts_a, texts_b, config, _runtime(config),
                                    ui_progress(f"cycle {cycle} cross-encoder labels"))

    how = "sigmoid-symmetric" if config.symmetric else "sigmoid"
    return _label_pool(label, pool, target, "cross-encoder", cycle, how)


def _label_pool(label: Callable[[list[str], list[str]], np.ndarray], pool: Artifact, target: str,
                labelled_by: str, cycle: int, how: str) -> StageResult:
    """Label every pair of the pool and store them as a labelled-pairs artifact at `target`."""
    started = time.perf_counter()
    frame = read_pool(Path(pool.path))
    labels = label(frame["text_a"].tolist(), frame["text_b"].tolist())
    write_labelled(Path(target), frame, labels, labelled_by, cycle, how)
    return _finish(Path(target), started, _label_stats(labels))


@stage_task(name="distil-bi-encoder", task_run_name="cycle {cycle}: distil bi-encoder")
def distil_bi_task(config: PipelineConfig, start: Artifact, labels: Artifact, cycle: int,
                   target: str) -> StageResult:
    return _train_on_labels(folders.train_bi_folder, config, start, labels, target,
                            f"cycle {cycle} distil bi-encoder")


def _train_on_labels(train_folder: Callable[..., TrainStats], config: PipelineConfig, start: Artifact,
                     labels: Artifact, target: str, description: str) -> StageResult:
    """Train a model that starts at `start` on a labelled-pairs artifact; save it atomically at `target`."""
    started = time.perf_counter()
    frame = read_labelled(Path(labels.path))
    with atomic_path(Path(target), is_dir=True) as temp:
        stats = train_folder(start.path, frame["text_a"].tolist(), frame["text_b"].tolist(),
                             frame["label"].to_numpy(), config, _runtime(config), temp, ui_progress(description))
    return _finish(Path(target), started, stats.to_dict())


@stage_task(name="evaluate", task_run_name="evaluate {label}")
def evaluate_task(config: PipelineConfig, kind: str, model: Artifact, label: str, target: str) -> StageResult:
    """Spearman x100 on the 7 STS test sets and STS-B dev, stored as JSON."""
    started = time.perf_counter()
    test_sets, dev = load_benchmarks(data_dir_of(config))
    scores = folders.evaluate_folder(kind, model.path, config, test_sets, dev, _runtime(config),
                                     ui_progress(f"evaluate {label}"))
    write_text_atomic(Path(target), json.dumps(scores, indent=2) + "\n")
    return _finish(Path(target), started, scores)


def _label_stats(labels: np.ndarray) -> dict[str, float]:
    return {"pairs": int(len(labels)), "mean": float(np.mean(labels)), "std": float(np.std(labels)),
            "min": float(np.min(labels)), "max": float(np.max(labels))}
