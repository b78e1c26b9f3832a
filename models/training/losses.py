"""The distillation losses between a bi-encoder's cosines and its teacher's labels."""
from __future__ import annotations

import torch
from torch import nn

COSENT_SCALE = 20.0  # CoSENT's lambda (Su, 2022): cosines in [-1, 1] become logits of width 40


def cosent_loss(cosines: torch.Tensor, labels: torch.Tensor, scale: float = COSENT_SCALE) -> torch.Tensor:
    """CoSENT: log(1 + sum over pairs i, j with label_i > label_j of exp(scale * (cos_j - cos_i))).

    Only the teacher's order within the batch is learned, not its scale: Spearman, the measure, is an order, and
    the averaged teacher's scores (cross-encoder sigmoids beside bi-encoder cosines) share no scale."""
    gaps = scale * (cosines[None, :] - cosines[:, None])  # gaps[i, j] = scale * (cos_j - cos_i)
    ordered = labels[:, None] > labels[None, :]
    return torch.logsumexp(torch.cat([gaps.new_zeros(1), gaps[ordered]]), dim=0)


# mse is the paper's: the cosine regresses the teacher's score, scale and offset included.
BI_LOSSES = {"mse": nn.functional.mse_loss, "cosent": cosent_loss}
