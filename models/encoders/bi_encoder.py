"""Bi-encoder: each sentence embedded alone; similarity is the cosine of two embeddings."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Literal, Mapping, Sequence

import numpy as np
import torch
from torch import nn
from transformers import AutoModel, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from models.encoders.batching import batch_count, padded, token_sorted_batches, usable_max_length
from models.encoders.embedding_cache import EmbeddingCache, fingerprint, source_of
from models.encoders.ngram_cnn import MODULE_TYPE as NGRAM_TYPE
from models.encoders.ngram_cnn import NgramCNN, copy_source
from models.encoders.sources import module_folder, pooling_of, resolve_model_source
from models.progress import ProgressFn, track
from models.runtime import autocast

Pooling = Literal["cls", "mean"]
POOLINGS: tuple[str, ...] = ("cls", "mean")


class BiEncoder(nn.Module):
    """A transformer, optionally IS-BERT's n-gram CNN, and pooling; `encode` gives L2-normalised float32 embeddings."""

    def __init__(self, transformer: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                 pooling: Pooling = "cls", max_length: int = 32, ngram: NgramCNN | None = None) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        if ngram is not None and pooling != "mean":
            raise ValueError("n-gram CNN features are mean-pooled (IS-BERT's global vector); pooling must be 'mean'")
        self.transformer = transformer
        self.tokenizer = tokenizer
        self.pooling = pooling
        self.max_length = usable_max_length(max_length, transformer.config)
        self.ngram = ngram
        self.embedding_cache: Path | None = None  # a folder: distinct texts' vectors are kept there (frozen models)
        self.graph: Callable[[dict[str, torch.Tensor]], torch.Tensor] | None = None  # the transformer on ONNX Runtime

    @classmethod
    def from_pretrained(cls, source: str | Path, pooling: Pooling | None = None,
                        max_length: int = 32) -> "BiEncoder":
        """Load from a folder, an installed short name or a hub id; pooling defaults to the folder's own, else CLS.
        A folder with an n-gram CNN module (an IS-BERT warm-up) keeps it, and its mean pooling."""
        path = resolve_model_source(source)
        tokenizer = AutoTokenizer.from_pretrained(path)
        transformer = AutoModel.from_pretrained(path, use_safetensors=True)
        ngram_folder = module_folder(path, NGRAM_TYPE)
        if ngram_folder is not None:
            return cls(transformer, tokenizer, "mean", max_length, NgramCNN.load(ngram_folder))
        return cls(transformer, tokenizer, pooling or pooling_of(path) or "cls", max_length)

    @property
    def dimension(self) -> int:
        return self.ngram.dimension if self.ngram is not None else self.transformer.config.hidden_size

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def token_ids(self, texts: Sequence[str]) -> Mapping[str, list[list[int]]]:
        """Unpadded token ids and masks, cut at `max_length`."""
        return self.tokenizer(list(texts), truncation=True, max_length=self.max_length)

    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """One padded batch on the model's device."""
        return padded(self.token_ids(texts), range(len(texts)), self.tokenizer.pad_token_id, self.device)

    def token_features(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        """(batch, tokens, dimension): the transformer's last layer, through the n-gram CNN when there is one."""
        hidden = self.graph(features) if self.graph is not None else self.transformer(**features).last_hidden_state
        return hidden if self.ngram is None else self.ngram.local_features(hidden, features["attention_mask"])

    def forward(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        """Pooled, unnormalised sentence embeddings (training uses these)."""
        tokens = self.token_features(features)
        return tokens[:, 0] if self.pooling == "cls" else masked_mean(tokens, features["attention_mask"])

    @torch.inference_mode()
    def encode(self, texts: Sequence[str], batch_size: int = 64, dtype: torch.dtype | None = None,
               progress: ProgressFn | None = None, desc: str = "encode") -> np.ndarray:
        """L2-normalised float32 embeddings, in the order of `texts`."""
        was_training = self.training
        self.eval()
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        batches = token_sorted_batches(lambda rows: self.token_ids([texts[i] for i in rows]), len(texts), batch_size,
                                       self.tokenizer.pad_token_id, self.device)
        for index, features in track(batches, batch_count(len(texts), batch_size), desc, progress):
            with autocast(self.device, dtype):
                embeddings = self(features)
            out[index] = nn.functional.normalize(embeddings.float(), dim=-1).cpu().numpy()
        self.train(was_training)
        return out

    def similarity(self, texts_a: Sequence[str], texts_b: Sequence[str], batch_size: int = 64,
                   dtype: torch.dtype | None = None, progress: ProgressFn | None = None) -> np.ndarray:
        """Cosine of each pair; every distinct sentence is encoded once."""
        embeddings, row = self.embed_distinct([*texts_a, *texts_b], batch_size, dtype, progress)
        return pair_cosines(embeddings, row, texts_a, texts_b)

    def embed_distinct(self, texts: Sequence[str], batch_size: int = 64, dtype: torch.dtype | None = None,
                       progress: ProgressFn | None = None) -> tuple[np.ndarray, dict[str, int]]:
        """Each distinct text encoded once (benchmarks and pools repeat sentences): embeddings and each text's row.
        With `embedding_cache` set, texts this very model encoded before (any run) are read back instead."""
        unique = list(dict.fromkeys(texts))

        def encode(part: list[str]) -> np.ndarray:
            return self.encode(part, batch_size, dtype, progress, desc="bi-encoder scoring")

        if self.embedding_cache is None:
            return encode(unique), {text: i for i, text in enumerate(unique)}
        key = fingerprint(self, type(self.tokenizer).__name__, len(self.tokenizer), self.pooling,
                          self.max_length, dtype, source_of(BiEncoder, NgramCNN))
        return EmbeddingCache(self.embedding_cache / key).embed(unique, encode), \
            {text: i for i, text in enumerate(unique)}

    def save(self, path: str | Path) -> Path:
        """Write the sentence-transformers folder layout (Transformer, [NgramCNN], Pooling, Normalize)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.transformer.save_pretrained(path)
        self.tokenizer.save_pretrained(path)
        _write_json(path / "sentence_bert_config.json", {"max_seq_length": self.max_length, "do_lower_case": False})
        modules = [("", "sentence_transformers.models.Transformer")]
        if self.ngram is not None:
            self.ngram.save(path / "1_NgramCNN")
            copy_source(path)
            modules.append(("1_NgramCNN", NGRAM_TYPE))
        pooling = f"{len(modules)}_Pooling"
        _write_json(path / pooling / "config.json", {
            "word_embedding_dimension": self.dimension,
            "pooling_mode_cls_token": self.pooling == "cls",
            "pooling_mode_mean_tokens": self.pooling == "mean",
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
        })
        modules += [(pooling, "sentence_transformers.models.Pooling"),
                    (f"{len(modules) + 1}_Normalize", "sentence_transformers.models.Normalize")]
        _write_json(path / "modules.json", [{"idx": i, "name": str(i), "path": folder, "type": kind}
                                            for i, (folder, kind) in enumerate(modules)])
        _write_json(path / "config_sentence_transformers.json", {"similarity_fn_name": "cosine"})
        return path


def pair_cosines(embeddings: np.ndarray, row: dict[str, int], texts_a: Sequence[str],
                 texts_b: Sequence[str]) -> np.ndarray:
    """Cosine of each (a, b) from normalised embeddings looked up by text."""
    return (embeddings[[row[t] for t in texts_a]] * embeddings[[row[t] for t in texts_b]]).sum(axis=1)


def masked_mean(tokens: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The mean over each row's real tokens (padding excluded)."""
    mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
    return (tokens * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


def _write_json(path: Path, content: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2) + "\n")
