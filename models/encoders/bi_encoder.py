"""Bi-encoder: each sentence embedded alone; similarity is the cosine of two embeddings."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Literal, Sequence

import numpy as np
import torch
from torch import nn
from transformers import AutoModel, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from models.encoders.batching import length_sorted_batches, usable_max_length
from models.progress import ProgressFn, track
from models.runtime import autocast
from models.encoders.sources import pooling_of, resolve_model_source

Pooling = Literal["cls", "mean"]
POOLINGS: tuple[str, ...] = ("cls", "mean")


class BiEncoder(nn.Module):
    """A transformer plus pooling; `encode` gives L2-normalised float32 embeddings."""

    def __init__(self, transformer: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                 pooling: Pooling = "cls", max_length: int = 32) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.transformer = transformer
        self.tokenizer = tokenizer
        self.pooling = pooling
        self.max_length = usable_max_length(max_length, transformer.config)

    @classmethod
    def from_pretrained(cls, source: str | Path, pooling: Pooling | None = None,
                        max_length: int = 32) -> "BiEncoder":
        """Load from a folder, an installed short name or a hub id; pooling defaults to the folder's own, else CLS."""
        path = resolve_model_source(source)
        tokenizer = AutoTokenizer.from_pretrained(path)
        transformer = AutoModel.from_pretrained(path, use_safetensors=True)
        return cls(transformer, tokenizer, pooling or pooling_of(path) or "cls", max_length)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        batch = self.tokenizer(list(texts), padding=True, truncation=True,
                               max_length=self.max_length, return_tensors="pt")
        return {name: tensor.to(self.device) for name, tensor in batch.items()}

    def forward(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        """Pooled, unnormalised sentence embeddings (training uses these)."""
        hidden = self.transformer(**features).last_hidden_state
        if self.pooling == "cls":
            return hidden[:, 0]
        mask = features["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)

    @torch.no_grad()
    def encode(self, texts: Sequence[str], batch_size: int = 64, dtype: torch.dtype | None = None,
               progress: ProgressFn | None = None, desc: str = "encode") -> np.ndarray:
        """L2-normalised float32 embeddings, in the order of `texts`."""
        was_training = self.training
        self.eval()
        out = np.zeros((len(texts), self.transformer.config.hidden_size), dtype=np.float32)
        lengths = [len(text) for text in texts]
        batches = length_sorted_batches(lengths, batch_size)
        for index in track(batches, len(batches), desc, progress):
            with autocast(self.device, dtype):
                embeddings = self(self.tokenize([texts[i] for i in index]))
            out[index] = nn.functional.normalize(embeddings.float(), dim=-1).cpu().numpy()
        self.train(was_training)
        return out

    def similarity(self, texts_a: Sequence[str], texts_b: Sequence[str], batch_size: int = 64,
                   dtype: torch.dtype | None = None, progress: ProgressFn | None = None) -> np.ndarray:
        """Cosine of each pair; every distinct sentence is encoded once."""
        unique = list(dict.fromkeys([*texts_a, *texts_b]))
        position = {text: i for i, text in enumerate(unique)}
        embeddings = self.encode(unique, batch_size, dtype, progress, desc="bi-encoder scoring")
        a = embeddings[[position[t] for t in texts_a]]
        b = embeddings[[position[t] for t in texts_b]]
        return (a * b).sum(axis=1)

    def save(self, path: str | Path) -> Path:
        """Write the sentence-transformers folder layout (Transformer, Pooling, Normalize)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.transformer.save_pretrained(path)
        self.tokenizer.save_pretrained(path)
        hidden = self.transformer.config.hidden_size
        _write_json(path / "sentence_bert_config.json", {"max_seq_length": self.max_length, "do_lower_case": False})
        _write_json(path / "1_Pooling" / "config.json", {
            "word_embedding_dimension": hidden,
            "pooling_mode_cls_token": self.pooling == "cls",
            "pooling_mode_mean_tokens": self.pooling == "mean",
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
        })
        _write_json(path / "modules.json", [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ])
        _write_json(path / "config_sentence_transformers.json", {"similarity_fn_name": "cosine"})
        return path


def _write_json(path: Path, content: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2) + "\n")
