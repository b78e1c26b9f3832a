"""What every label-free warm-up is: a loss over a batch of sentences, and optionally a change to the model first."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Sequence

import torch
from torch import nn

from models.config import PipelineConfig
from models.encoders.bi_encoder import BiEncoder
from models.runtime import Runtime


class Warmup(ABC):
    """One warm-up method. A new method is one module with a subclass, registered in `models.warmup.METHODS`, and
    its name in `models.config.CHOICES["warmup"]` (the CLI offers it; tests/test_registries.py checks the two agree).
    The warmup stage (pipeline/stages/warmup.py) runs every method: no stage or key changes are needed."""

    def __init__(self, bi: BiEncoder, config: PipelineConfig, runtime: Runtime) -> None:
        self.bi, self.config, self.runtime = bi, config, runtime
        self.generator = torch.Generator().manual_seed(runtime.seed)

    def prepare(self) -> None:
        """Change the bi-encoder before training (a new module, say); most methods train it as it is."""

    @abstractmethod
    def loss(self, texts: Sequence[str]) -> torch.Tensor:
        """The loss of one batch of distinct sentences."""

    def tokenize(self, texts: Sequence[str], special_tokens_mask: bool = False) -> dict[str, torch.Tensor]:
        batch = self.bi.tokenizer(list(texts), padding=True, truncation=True, max_length=self.config.warmup_max_length,
                                  return_tensors="pt", return_special_tokens_mask=special_tokens_mask)
        return {name: tensor.to(self.runtime.device) for name, tensor in batch.items()}


def info_nce(first: torch.Tensor, second: torch.Tensor, temperature: float) -> torch.Tensor:
    """InfoNCE with in-batch negatives: row i of `first` must pick row i of `second` among all rows."""
    first = nn.functional.normalize(first.float(), dim=-1)
    second = nn.functional.normalize(second.float(), dim=-1)
    logits = first @ second.T / temperature
    targets = torch.arange(len(first), device=first.device)
    return nn.functional.cross_entropy(logits, targets)
