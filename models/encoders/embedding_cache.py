"""Sentence embeddings kept on disk by (model fingerprint, text), so a model that no stage changes (a start model,
a frozen labeller) encodes each sentence once per machine, whichever run, store or code edit asks again.

The fingerprint covers the weights themselves, the tokenizer, pooling, max length, precision and the encoding
code, so a changed model or a changed encoder never reads another's vectors.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import os
import uuid
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

CACHE_ENV = "TE_EMBEDDING_CACHE"


def cache_root() -> Path | None:
    """$TE_EMBEDDING_CACHE (a folder; `off` turns the cache off), else ~/.cache/trans-encoder/embeddings."""
    value = os.environ.get(CACHE_ENV, "")
    if value == "off":
        return None
    return Path(value) if value else Path.home() / ".cache" / "trans-encoder" / "embeddings"


def fingerprint(module: torch.nn.Module, *settings: object) -> str:
    """Digest of every weight's name, type, shape and bytes, plus `settings` (anything else that shapes a vector)."""
    digest = hashlib.sha256(json.dumps([str(s) for s in settings]).encode())
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:32]


def source_of(*objects: object) -> str:
    """The source of the code that computes the vectors, for the fingerprint."""
    return "".join(inspect.getsource(obj) for obj in objects)  # type: ignore[arg-type]


class EmbeddingCache:
    """One fingerprint's folder: parts of (texts JSON, float32 matrix), each written whole or not at all."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def embed(self, texts: Sequence[str], encode: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        """The vectors of `texts` (distinct), encoding only the ones no earlier call stored."""
        known = self._load(texts)
        missing = [text for text in texts if text not in known]
        if missing:
            vectors = encode(missing)
            self._store(missing, vectors)
            known.update(zip(missing, vectors))
        return np.stack([known[text] for text in texts]) if texts else encode([])

    def _load(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of `texts`: only their rows are read (a shard of a pool needs few of a part's)."""
        wanted = set(texts)
        known: dict[str, np.ndarray] = {}
        for names in sorted(self.folder.glob("*.json")):  # the JSON is written last: a part without it is absent
            rows = [(row, text) for row, text in enumerate(json.loads(names.read_text()))
                    if text in wanted and text not in known]
            if rows:
                vectors = np.load(names.with_suffix(".npy"), mmap_mode="r")[[row for row, _ in rows]]
                known.update(zip([text for _, text in rows], vectors))
        return known

    def _store(self, texts: list[str], vectors: np.ndarray) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        part = self.folder / uuid.uuid4().hex
        for suffix, write in ((".npy", lambda f: np.save(f, np.asarray(vectors, dtype=np.float32))),
                              (".json", lambda f: f.write(json.dumps(texts).encode()))):
            temp = part.with_suffix(suffix + ".tmp")
            with open(temp, "wb") as handle:
                write(handle)
            os.replace(temp, part.with_suffix(suffix))
