"""What each stage's content address is made of: its code version and the settings it reads."""
from __future__ import annotations

import inspect
from pathlib import Path
from types import ModuleType
from typing import Any

import artifacts.pairs
import models.encoders.bi_encoder
import models.encoders.cross_encoder
import models.encoders.ngram_cnn
import models.data.pools
import models.data.sts
import models.evaluation
import models.training.folders
import models.training.losses
import models.training.stages
import models.training.trainer
import models.warmup
import models.warmup.base
import models.warmup.isbert
import models.warmup.mirror
import models.warmup.simcse
import tasks.stage_io
from artifacts.hashing import value_digest
from artifacts.store import Artifact, Store, stage_key
from models.config import PipelineConfig

_IO = (tasks.stage_io, artifacts.pairs)
_TRAINING = (*_IO, models.training.stages, models.training.trainer, models.training.folders,
             models.training.losses)
_SCORING = (*_IO, models.evaluation, models.training.folders, models.data.sts)
STAGE_CODE: dict[str, tuple[ModuleType, ...]] = {
    "pool": (*_IO, models.data.sts, models.data.pools),
    "warmup": (*_TRAINING, models.warmup, models.warmup.base, models.warmup.mirror, models.warmup.simcse,
               models.warmup.isbert, models.encoders.bi_encoder, models.encoders.ngram_cnn),
    "bi-labels": (*_IO, models.training.stages, models.training.folders, models.encoders.bi_encoder,
                  models.encoders.ngram_cnn),
    "average-labels": (*_IO, models.training.stages),
    "merge-labels": (*_IO, models.training.stages),
    "cross": (*_TRAINING, models.encoders.cross_encoder),
    "cross-labels": (*_IO, models.training.stages, models.training.folders, models.encoders.cross_encoder),
    "bi": (*_TRAINING, models.encoders.bi_encoder, models.encoders.ngram_cnn),
    "scores": (*_SCORING, models.encoders.bi_encoder, models.encoders.ngram_cnn, models.encoders.cross_encoder),
    "ensemble-scores": _SCORING,
}

_SHARED = ("precision", "device")
STAGE_SETTINGS: dict[str, tuple[str, ...]] = {
    "pool": ("pool", "pool_path", "text_a", "text_b", "encoding", "max_pairs", "seed", "strict"),
    "warmup": ("pooling", "warmup", "warmup_sentences", "warmup_lr", "warmup_batch_size", "warmup_epochs",
               "warmup_max_length", "warmup_temperature", "mirror_span", "bi_max_length", "max_steps",
               "weight_decay", "seed", *_SHARED),
    "bi-labels": ("pooling", "bi_max_length", "label_transform", "label_int8", *_SHARED),
    "cross": ("cross_lr", "cross_head_lr", "cross_batch_size", "cross_epochs", "cross_max_length",
              "cross_warmup_ratio", "weight_decay", "micro_batch", "max_steps", "seed", *_SHARED),
    "average-labels": (),
    "merge-labels": ("label_transform",),
    "cross-labels": ("cross_max_length", "symmetric", "label_int8", *_SHARED),
    "bi": ("pooling", "bi_lr", "bi_batch_size", "bi_epochs", "bi_max_length", "bi_warmup_ratio", "bi_loss",
           "weight_decay", "micro_batch", "max_steps", "seed", *_SHARED),
    "scores": ("pooling", "eval_max_length", "eval", "dev_label", "text_a", "text_b", "encoding", *_SHARED),
    "ensemble-scores": (),
}

SUFFIXES = {stage: ".parquet" for stage in ("pool", "bi-labels", "average-labels", "merge-labels", "cross-labels",
                                            "scores", "ensemble-scores")}


def code_version(stage: str) -> str:
    """Digest of the source of every module the stage runs: editing one of them invalidates its cache."""
    return value_digest([inspect.getsource(module) for module in STAGE_CODE[stage]])[:16]


def target(store: Store, stage: str, config: PipelineConfig, inputs: dict[str, Artifact],
           **extra: Any) -> Path:
    """The content-addressed output path of a stage run on these inputs with this config."""
    settings = {name: getattr(config, name) for name in STAGE_SETTINGS[stage]} | extra
    key = stage_key(stage, code_version(stage), {name: art.sha256 for name, art in inputs.items()}, settings)
    return store.path(stage, key, SUFFIXES.get(stage, ""))
