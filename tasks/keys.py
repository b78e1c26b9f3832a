"""What each stage's content address is made of: its code version and the settings it reads."""
from __future__ import annotations

import inspect
from pathlib import Path
from types import ModuleType
from typing import Any

import artifacts.pairs
import models.bi_encoder
import models.cross_encoder
import models.data.pools
import models.data.sts
import models.evaluation
import models.folders
import models.losses
import models.stages
import models.trainer
from artifacts.hashing import value_digest
from artifacts.store import Artifact, Store, stage_key
from models.config import PipelineConfig

_TRAINING = (models.stages, models.trainer, models.folders)
STAGE_CODE: dict[str, tuple[ModuleType, ...]] = {
    "pool": (models.data.sts, models.data.pools, artifacts.pairs),
    "warmup": (*_TRAINING, models.losses, models.bi_encoder),
    "bi-labels": (models.stages, models.folders, models.bi_encoder, artifacts.pairs),
    "cross": (*_TRAINING, models.cross_encoder),
    "cross-labels": (models.stages, models.folders, models.cross_encoder, artifacts.pairs),
    "bi": (*_TRAINING, models.bi_encoder),
    "scores": (models.evaluation, models.folders, models.data.sts, models.bi_encoder, models.cross_encoder),
}

_SHARED = ("precision", "device")
STAGE_SETTINGS: dict[str, tuple[str, ...]] = {
    "pool": ("pool", "pool_path", "text_a", "text_b", "max_pairs", "seed"),
    "warmup": ("pooling", "warmup", "warmup_sentences", "warmup_lr", "warmup_batch_size", "warmup_epochs",
               "warmup_max_length", "warmup_temperature", "mirror_span", "bi_max_length", "max_steps",
               "weight_decay", "seed", *_SHARED),
    "bi-labels": ("pooling", "bi_max_length", "label_transform", *_SHARED),
    "cross": ("cross_lr", "cross_batch_size", "cross_epochs", "cross_max_length", "cross_warmup_ratio",
              "weight_decay", "max_steps", "seed", *_SHARED),
    "cross-labels": ("cross_max_length", "symmetric", *_SHARED),
    "bi": ("pooling", "bi_lr", "bi_batch_size", "bi_epochs", "bi_max_length", "bi_warmup_ratio", "weight_decay",
           "max_steps", "seed", *_SHARED),
    "scores": ("pooling", "eval_max_length", *_SHARED),
}

SUFFIXES = {"pool": ".parquet", "bi-labels": ".parquet", "cross-labels": ".parquet", "scores": ".json"}


def code_version(stage: str) -> str:
    """Digest of the source of every module the stage runs: editing one of them invalidates its cache."""
    return value_digest([inspect.getsource(module) for module in STAGE_CODE[stage]])[:16]


def target(store: Store, stage: str, config: PipelineConfig, inputs: dict[str, Artifact],
           **extra: Any) -> Path:
    """The content-addressed output path of a stage run on these inputs with this config."""
    settings = {name: getattr(config, name) for name in STAGE_SETTINGS[stage]} | extra
    key = stage_key(stage, code_version(stage), {name: art.sha256 for name, art in inputs.items()}, settings)
    return store.path(stage, key, SUFFIXES.get(stage, ""))
