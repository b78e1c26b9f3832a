"""SimCSE (Gao et al., 2021): two dropout passes over the same sentence are its positive pair."""
from __future__ import annotations

from typing import Sequence

import torch

from models.warmup.base import Warmup, info_nce


class SimCSE(Warmup):
    def loss(self, texts: Sequence[str]) -> torch.Tensor:
        features = self.tokenize(texts)
        return info_nce(self.bi(features), self.bi(features), self.config.temperature)
