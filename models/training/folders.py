"""Folder-in, folder-out versions of the stages: the unit that the pipeline and the Prefect tasks share.

Each function loads its models from folders, runs one stage and saves the result to a
new folder, so that a stage can be cached, skipped or rerun on its own.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from models.encoders.bi_encoder import BiEncoder
from models.config import PipelineConfig
from models.encoders.cross_encoder import CrossEncoder
from models.progress import ProgressFn
from models.runtime import Runtime
from models.encoders.sources import pooling_of, resolve_model_source
from models.training.stages import distil_bi_encoder, fit_cross_encoder, label_with_bi, label_with_cross
from models.warmup import warm_up
from models.training.trainer import TrainStats


def start_pooling(config: PipelineConfig) -> str:
    """The bi-encoder pooling of the whole run: the setting, else the start folder's own, else CLS (a folder with
    IS-BERT's n-gram CNN always mean-pools: BiEncoder.from_pretrained)."""
    return config.pooling or pooling_of(resolve_model_source(config.model)) or "cls"


def load_bi(folder: str | Path, config: PipelineConfig) -> BiEncoder:
    return BiEncoder.from_pretrained(folder, pooling=start_pooling(config), max_length=config.bi_max_length)


def warm_up_folder(config: PipelineConfig, sentences: Sequence[str], runtime: Runtime, out: Path,
                   progress: ProgressFn | None = None) -> TrainStats | None:
    """Warm the start model up into `out` (a copy of the start model when the method is `none`)."""
    bi = load_bi(config.model, config)
    stats = warm_up(bi, sentences, config, runtime, progress)
    bi.save(out)
    return stats


def bi_labels(bi_folder: Path, texts_a: Sequence[str], texts_b: Sequence[str], config: PipelineConfig,
              runtime: Runtime, progress: ProgressFn | None = None, embedding_cache: Path | None = None) -> np.ndarray:
    bi = load_bi(bi_folder, config)
    bi.embedding_cache = embedding_cache
    return label_with_bi(bi, texts_a, texts_b, config, runtime, progress)


def cross_labels(cross_folder: Path, texts_a: Sequence[str], texts_b: Sequence[str], config: PipelineConfig,
                 runtime: Runtime, progress: ProgressFn | None = None) -> np.ndarray:
    cross = CrossEncoder.from_pretrained(cross_folder, max_length=config.cross_max_length)
    return label_with_cross(cross, texts_a, texts_b, config, runtime, progress)


def train_cross_folder(start: str | Path, texts_a: Sequence[str], texts_b: Sequence[str], labels: np.ndarray,
                       config: PipelineConfig, runtime: Runtime, out: Path,
                       progress: ProgressFn | None = None) -> TrainStats:
    cross = CrossEncoder.from_pretrained(start, max_length=config.cross_max_length)
    stats = fit_cross_encoder(cross, texts_a, texts_b, labels, config, runtime, progress)
    cross.save(out)
    return stats


def train_bi_folder(start: str | Path, texts_a: Sequence[str], texts_b: Sequence[str], labels: np.ndarray,
                    config: PipelineConfig, runtime: Runtime, out: Path,
                    progress: ProgressFn | None = None) -> TrainStats:
    bi = load_bi(start, config)
    stats = distil_bi_encoder(bi, texts_a, texts_b, labels, config, runtime, progress)
    bi.save(out)
    return stats


def load_encoder(kind: str, source: str | Path, pooling: str | None, max_length: int) -> BiEncoder | CrossEncoder:
    """A bi-encoder (`kind="bi"`) or cross-encoder (`kind="cross"`) that reads up to `max_length` tokens."""
    if kind == "bi":
        return BiEncoder.from_pretrained(source, pooling=pooling, max_length=max_length)  # type: ignore[arg-type]
    if kind == "cross":
        return CrossEncoder.from_pretrained(source, max_length=max_length)
    raise ValueError(f"kind must be 'bi' or 'cross', got {kind!r}")
