"""Cross-encoder: the pair read together by one transformer, one logit out; score = sigmoid(logit)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import nn
from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from models.encoders.batching import batch_count, padded, token_sorted_batches, usable_max_length
from models.encoders.sources import resolve_model_source
from models.progress import ProgressFn, track
from models.runtime import autocast


class CrossEncoder(nn.Module):
    """A sequence classifier with a single output logit over `[CLS] a [SEP] b [SEP]`."""

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, max_length: int = 64,
                 fresh: frozenset[str] = frozenset()) -> None:
        super().__init__()
        if model.config.num_labels != 1:
            raise ValueError(f"a cross-encoder needs exactly one output logit, the model has {model.config.num_labels}")
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = usable_max_length(max_length, model.config)
        self.fresh = fresh  # names of the parameters the checkpoint lacked (the head of an encoder): random so far
        self.graph: Callable[[dict[str, torch.Tensor]], torch.Tensor] | None = None  # the model on ONNX Runtime

    @classmethod
    def from_pretrained(cls, source: str | Path, max_length: int = 64) -> "CrossEncoder":
        """Load a saved cross-encoder, or start one from any encoder (the head is then freshly initialised)."""
        path = resolve_model_source(source)
        tokenizer = AutoTokenizer.from_pretrained(path)
        model, loading = AutoModelForSequenceClassification.from_pretrained(
            path, num_labels=1, use_safetensors=True, output_loading_info=True)
        fresh = frozenset(f"model.{name}" for name in loading["missing_keys"])
        return cls(model, tokenizer, max_length, fresh)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def token_ids(self, texts_a: Sequence[str], texts_b: Sequence[str]) -> Mapping[str, list[list[int]]]:
        """Unpadded token ids, masks and segment ids of the pairs, cut at `max_length` (longest side first)."""
        return self.tokenizer(list(texts_a), list(texts_b), truncation="longest_first", max_length=self.max_length)

    def tokenize(self, texts_a: Sequence[str], texts_b: Sequence[str]) -> dict[str, torch.Tensor]:
        """One padded batch on the model's device."""
        return padded(self.token_ids(texts_a, texts_b), range(len(texts_a)), self.tokenizer.pad_token_id, self.device)

    def forward(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        """One logit per pair, shape (batch,)."""
        logits = self.graph(features) if self.graph is not None else self.model(**features).logits
        return logits.squeeze(-1)

    @torch.inference_mode()
    def logits(self, texts_a: Sequence[str], texts_b: Sequence[str], batch_size: int = 64,
               dtype: torch.dtype | None = None, progress: ProgressFn | None = None,
               desc: str = "cross-encoder scoring") -> np.ndarray:
        """Raw logits for the pairs (a, b) in this order."""
        if len(texts_a) != len(texts_b):
            raise ValueError(f"got {len(texts_a)} first sentences but {len(texts_b)} second sentences")
        was_training = self.training
        self.eval()
        out = np.zeros(len(texts_a), dtype=np.float32)
        batches = token_sorted_batches(
            lambda rows: self.token_ids([texts_a[i] for i in rows], [texts_b[i] for i in rows]), len(texts_a),
            batch_size, self.tokenizer.pad_token_id, self.device)
        for index, features in track(batches, batch_count(len(texts_a), batch_size), desc, progress):
            with autocast(self.device, dtype):
                logits = self(features)
            out[index] = logits.float().cpu().numpy()
        self.train(was_training)
        return out

    def score(self, texts_a: Sequence[str], texts_b: Sequence[str], symmetric: bool = False,
              batch_size: int = 64, dtype: torch.dtype | None = None,
              progress: ProgressFn | None = None) -> np.ndarray:
        """Sigmoid scores in [0, 1]; `symmetric` averages the scores of (a, b) and (b, a)."""
        if not symmetric:
            return _sigmoid(self.logits(texts_a, texts_b, batch_size, dtype, progress))
        both = self.logits([*texts_a, *texts_b], [*texts_b, *texts_a], batch_size, dtype, progress)
        forward, backward = both[:len(texts_a)], both[len(texts_a):]
        return (_sigmoid(forward) + _sigmoid(backward)) / 2

    def save(self, path: str | Path) -> Path:
        """A plain transformers folder; sentence-transformers' CrossEncoder loads it (sigmoid for one label)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(path)
        self.tokenizer.model_max_length = self.max_length
        self.tokenizer.save_pretrained(path)
        return path


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-logits.astype(np.float64)))).astype(np.float32)
