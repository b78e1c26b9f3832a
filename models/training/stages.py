"""The Trans-Encoder stages as plain functions: explicit inputs, explicit outputs, no orchestration.

Each training stage updates the model it is given in place and returns its TrainStats.
"""
from __future__ import annotations

from typing import Literal, Sequence

import numpy as np
import torch
from torch import nn

from models.encoders.bi_encoder import BiEncoder
from models.config import PipelineConfig
from models.encoders.cross_encoder import CrossEncoder
from models.training.losses import info_nce, mask_random_span
from models.progress import ProgressFn
from models.runtime import Runtime
from models.training.trainer import OptimSettings, TrainStats, train


def warm_up(bi: BiEncoder, sentences: Sequence[str], config: PipelineConfig, runtime: Runtime,
            progress: ProgressFn | None = None) -> TrainStats | None:
    """Contrastive, label-free tuning: two views of each sentence must find each other in the batch.

    `mirror`: each view gets one random masked span plus dropout; `simcse`: dropout only;
    `none`: nothing to do (the start model is already a sentence encoder).
    """
    if config.warmup == "none":
        return None
    texts = _sample_unique(sentences, config.warmup_sentences, runtime.seed)
    generator = torch.Generator().manual_seed(runtime.seed)
    tokenizer = bi.tokenizer
    if config.warmup == "mirror" and tokenizer.mask_token_id is None:
        raise ValueError(f"--warmup mirror needs a tokenizer with a [MASK] token; {bi.transformer.name_or_path} has none")

    def views(index: np.ndarray) -> dict[str, torch.Tensor]:
        batch = tokenizer([texts[i] for i in index], padding=True, truncation=True,
                          max_length=config.warmup_max_length, return_tensors="pt",
                          return_special_tokens_mask=True)
        special = batch.pop("special_tokens_mask")
        features = {k: v.to(runtime.device) for k, v in batch.items()}
        if config.warmup == "mirror":
            features["input_ids"] = mask_random_span(features["input_ids"], features["attention_mask"], special,
                                                     tokenizer.mask_token_id, config.mirror_span, generator)
        return features

    def batch_loss(index: np.ndarray) -> torch.Tensor:
        return info_nce(bi(views(index)), bi(views(index)), config.temperature)

    settings = OptimSettings(lr=config.warmup_lr, batch_size=config.warmup_batch_size, epochs=config.warmup_epochs,
                             weight_decay=config.weight_decay, max_steps=config.max_steps)
    bi.to(runtime.device)
    return train(bi, len(texts), batch_loss, settings, runtime.seed, runtime.device, runtime.dtype,
                 f"warm-up ({config.warmup})", progress)


def transform_labels(scores: np.ndarray, how: str) -> np.ndarray:
    """bi -> cross label transform: `raw` cosine (reference), `clip` to [0, 1], or `minmax` to [0, 1]."""
    scores = np.asarray(scores, dtype=np.float32)
    if how == "raw":
        return scores
    if how == "clip":
        return np.clip(scores, 0.0, 1.0)
    if how == "minmax":
        low, high = float(scores.min()), float(scores.max())
        return (scores - low) / (high - low) if high > low else np.full_like(scores, 0.5)
    raise ValueError(f"label transform must be raw, clip or minmax; got {how!r}")


def average_labels(label_sets: Sequence[np.ndarray]) -> np.ndarray:
    """Mutual distillation: every model of a kind learns from the mean of all models' labels."""
    if not label_sets:
        raise ValueError("no label sets to average")
    return np.mean(np.stack([np.asarray(s, dtype=np.float32) for s in label_sets]), axis=0)


def label_with_bi(bi: BiEncoder, texts_a: Sequence[str], texts_b: Sequence[str], config: PipelineConfig,
                  runtime: Runtime, progress: ProgressFn | None = None) -> np.ndarray:
    """Cosine similarity of each pair under the bi-encoder (before any transform)."""
    bi.to(runtime.device)
    return bi.similarity(texts_a, texts_b, config.eval_batch_size, runtime.dtype, progress)


def label_with_cross(cross: CrossEncoder, texts_a: Sequence[str], texts_b: Sequence[str],
                     config: PipelineConfig, runtime: Runtime, progress: ProgressFn | None = None) -> np.ndarray:
    """Sigmoid scores of the cross-encoder; both orders averaged when `config.symmetric`."""
    cross.to(runtime.device)
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
                 runtime.dtype, "fit cross-encoder", progress)


def distil_bi_encoder(bi: BiEncoder, texts_a: Sequence[str], texts_b: Sequence[str], labels: np.ndarray,
                      config: PipelineConfig, runtime: Runtime, progress: ProgressFn | None = None) -> TrainStats:
    """cross -> bi: MSE between the bi-encoder's cosine and the cross-encoder's score."""
    targets = torch.tensor(np.asarray(labels, dtype=np.float32))

    def batch_loss(index: np.ndarray) -> torch.Tensor:
        first = bi(bi.tokenize([texts_a[i] for i in index]))
        second = bi(bi.tokenize([texts_b[i] for i in index]))
        cosine = nn.functional.cosine_similarity(first.float(), second.float())
        return nn.functional.mse_loss(cosine, targets[index].to(runtime.device))

    bi.to(runtime.device)
    return train(bi, len(texts_a), batch_loss, _optim_settings(config, "bi"), runtime.seed, runtime.device,
                 runtime.dtype, "distil bi-encoder", progress)


def _optim_settings(config: PipelineConfig, model: Literal["cross", "bi"]) -> OptimSettings:
    """A training stage's own rate, batch, epochs and warm-up (`cross_*` or `bi_*`); decay and step cap are shared."""
    own = {name: getattr(config, f"{model}_{name}") for name in ("lr", "batch_size", "epochs", "warmup_ratio")}
    return OptimSettings(**own, weight_decay=config.weight_decay, max_steps=config.max_steps)


def _sample_unique(sentences: Sequence[str], limit: int, seed: int) -> list[str]:
    """Up to `limit` distinct sentences, a seeded sample when there are more."""
    unique = list(dict.fromkeys(sentences))
    if len(unique) <= limit:
        return unique
    picked = np.random.default_rng(seed).choice(len(unique), size=limit, replace=False)
    return [unique[i] for i in sorted(picked)]
