"""What one model learns from, or says about, another's labels: labelling the pool and the two fits.

Each fit updates the model it is given in place and returns its TrainStats.
"""
from __future__ import annotations

from typing import Literal, Sequence, TypeVar

import numpy as np
import torch
from torch import nn

from models.config import PipelineConfig
from models.encoders.backend import with_backend
from models.encoders.bi_encoder import BiEncoder
from models.encoders.cross_encoder import CrossEncoder
from models.progress import ProgressFn
from models.runtime import Runtime
from models.training.losses import BI_LOSSES
from models.training.trainer import OptimSettings, TrainStats, train

Labeller = TypeVar("Labeller", BiEncoder, CrossEncoder)


def for_labelling(model: Labeller, config: PipelineConfig) -> Labeller:
    """The model as pool labelling runs it: on `config.backend`, in int8 with `config.label_int8` (CPU only: a GPU
    worker refuses it rather than ignore it)."""
    return with_backend(model, config.backend, config.label_int8)


def label_with_bi(bi: BiEncoder, texts_a: Sequence[str], texts_b: Sequence[str], config: PipelineConfig,
                  runtime: Runtime, progress: ProgressFn | None = None) -> np.ndarray:
    """Cosine similarity of each pair under the bi-encoder (before any transform)."""
    bi = for_labelling(bi.to(runtime.device), config)
    return bi.similarity(texts_a, texts_b, config.eval_batch_size, runtime.dtype, progress)


def label_with_cross(cross: CrossEncoder, texts_a: Sequence[str], texts_b: Sequence[str],
                     config: PipelineConfig, runtime: Runtime, progress: ProgressFn | None = None) -> np.ndarray:
    """Sigmoid scores of the cross-encoder; both orders averaged when `config.symmetric`."""
    cross = for_labelling(cross.to(runtime.device), config)
    return cross.score(texts_a, texts_b, config.symmetric, config.eval_batch_size, runtime.dtype, progress)


def fit_cross_encoder(cross: CrossEncoder, texts_a: Sequence[str], texts_b: Sequence[str], labels: np.ndarray,
                      config: PipelineConfig, runtime: Runtime, progress: ProgressFn | None = None) -> TrainStats:
    """bi -> cross: BCE-with-logits on the bi-encoder's labels, each pair given in both orders."""
    first = [*texts_a, *texts_b]
    second = [*texts_b, *texts_a]
    targets = torch.as_tensor(np.concatenate([labels, labels]), dtype=torch.float32)
    loss_fn = nn.BCEWithLogitsLoss()

    def batch_loss(index: np.ndarray) -> torch.Tensor:
        logits = cross(cross.tokenize([first[i] for i in index], [second[i] for i in index]))
        return loss_fn(logits.float(), targets[index].to(runtime.device))

    cross.to(runtime.device)
    return train(cross, len(first), batch_loss, _optim_settings(config, "cross"), runtime.seed, runtime.device,
                 runtime.dtype, "fit cross-encoder", progress, [len(a) + len(b) for a, b in zip(first, second)],
                 head=cross.fresh)


def distil_bi_encoder(bi: BiEncoder, texts_a: Sequence[str], texts_b: Sequence[str], labels: np.ndarray,
                      config: PipelineConfig, runtime: Runtime, progress: ProgressFn | None = None) -> TrainStats:
    """cross -> bi: the bi-encoder's cosines learn the teacher's scores (`config.bi_loss`: MSE as the paper, or
    CoSENT's order within each micro-batch)."""
    targets = torch.tensor(np.asarray(labels, dtype=np.float32))
    loss_fn = BI_LOSSES[config.bi_loss]

    def batch_loss(index: np.ndarray) -> torch.Tensor:
        first = bi(bi.tokenize([texts_a[i] for i in index]))
        second = bi(bi.tokenize([texts_b[i] for i in index]))
        cosine = nn.functional.cosine_similarity(first.float(), second.float())
        return loss_fn(cosine, targets[index].to(runtime.device))

    bi.to(runtime.device)
    return train(bi, len(texts_a), batch_loss, _optim_settings(config, "bi"), runtime.seed, runtime.device,
                 runtime.dtype, "distil bi-encoder", progress, [len(a) + len(b) for a, b in zip(texts_a, texts_b)])


def _optim_settings(config: PipelineConfig, model: Literal["cross", "bi"]) -> OptimSettings:
    """A training stage's own rate, batch, epochs and warm-up (`cross_*` or `bi_*`, and the cross-encoder's head
    rate); decay, step cap and micro-batch are shared."""
    own = {name: getattr(config, f"{model}_{name}") for name in ("lr", "batch_size", "epochs", "warmup_ratio")}
    head_lr = config.cross_head_lr if model == "cross" else None
    return OptimSettings(**own, head_lr=head_lr, weight_decay=config.weight_decay, max_steps=config.max_steps,
                         micro_batch=config.micro_batch)
