"""Mirror-BERT (Liu et al., 2021): two views of a sentence, each with one random span masked, plus dropout."""
from __future__ import annotations

from typing import Sequence

import torch

from models.warmup.base import Warmup, info_nce


class MirrorBERT(Warmup):
    def prepare(self) -> None:
        if self.bi.tokenizer.mask_token_id is None:
            raise ValueError(f"--warmup mirror needs a tokenizer with a [MASK] token; "
                             f"{self.bi.transformer.name_or_path} has none")

    def loss(self, texts: Sequence[str]) -> torch.Tensor:
        return info_nce(self.bi(self.view(texts)), self.bi(self.view(texts)), self.config.temperature)

    def view(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        features = self.tokenize(texts, special_tokens_mask=True)
        special = features.pop("special_tokens_mask")
        features["input_ids"] = mask_random_span(features["input_ids"], features["attention_mask"], special,
                                                 self.bi.tokenizer.mask_token_id, self.config.mirror_span,
                                                 self.generator)
        return features


def mask_random_span(input_ids: torch.Tensor, attention_mask: torch.Tensor, special_tokens_mask: torch.Tensor,
                     mask_token_id: int, span: int, generator: torch.Generator) -> torch.Tensor:
    """Mirror-BERT's input corruption: one random span of `span` ordinary tokens per row becomes [MASK].

    Rows shorter than the span have all their ordinary tokens masked. Returns a new tensor.
    """
    masked = input_ids.clone()
    ordinary = (attention_mask.bool() & ~special_tokens_mask.bool()).cpu()
    for row in range(len(masked)):
        positions = ordinary[row].nonzero().flatten()
        if len(positions) == 0:
            continue
        width = min(span, len(positions))
        start = int(torch.randint(0, len(positions) - width + 1, (1,), generator=generator))
        masked[row, positions[start:start + width].to(masked.device)] = mask_token_id
    return masked
