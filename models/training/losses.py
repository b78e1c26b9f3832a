"""Losses and input corruption for the label-free warm-up (Mirror-BERT, SimCSE)."""
from __future__ import annotations

import torch
from torch import nn


def info_nce(first: torch.Tensor, second: torch.Tensor, temperature: float) -> torch.Tensor:
    """InfoNCE with in-batch negatives: row i of `first` must pick row i of `second` among all rows."""
    first = nn.functional.normalize(first.float(), dim=-1)
    second = nn.functional.normalize(second.float(), dim=-1)
    logits = first @ second.T / temperature
    targets = torch.arange(len(first), device=first.device)
    return nn.functional.cross_entropy(logits, targets)


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
