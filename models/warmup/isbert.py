"""IS-BERT (Zhang et al., 2020): maximise the mutual information between a sentence's n-gram features and its
mean (global) vector, with the Jensen-Shannon estimator; other sentences' n-grams in the batch are negatives."""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from models.encoders.bi_encoder import masked_mean
from models.encoders.ngram_cnn import NgramCNN
from models.warmup.base import Warmup

OUT_CHANNELS = 256  # per window, as in the IS-BERT paper (3 windows: 768 features)


class ISBERT(Warmup):
    def prepare(self) -> None:
        """Put the n-gram CNN (windows 1, 3, 5) between the transformer and mean pooling; it is saved with the model."""
        if self.bi.ngram is None:
            self.bi.ngram = NgramCNN(self.bi.transformer.config.hidden_size, OUT_CHANNELS)
            self.bi.pooling = "mean"

    def loss(self, texts: Sequence[str]) -> torch.Tensor:
        features = self.tokenize(texts)
        local = self.bi.token_features(features)
        mask = features["attention_mask"]
        return jsd_infomax_loss(local, masked_mean(local, mask), mask)


def jsd_infomax_loss(local: torch.Tensor, global_: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Negative Jensen-Shannon MI estimate between every real token's features and every sentence's vector.

    The discriminator is the dot product: token t of sentence i against sentence j scores local[i, t] . global_[j].
    Positives (i == j) should score high, negatives low:
        loss = mean_neg[softplus(s) - log 2] - mean_pos[log 2 - softplus(-s)].
    Padding tokens are not samples at all.
    """
    tokens = local[attention_mask.bool()].float()  # (real tokens, dim)
    owner = torch.arange(len(local), device=local.device).repeat_interleave(attention_mask.sum(dim=1))
    scores = tokens @ global_.float().T  # (real tokens, sentences)
    positive = nn.functional.one_hot(owner, len(local)).bool()
    log2 = math.log(2.0)
    expected_positive = (log2 - nn.functional.softplus(-scores[positive])).mean()
    expected_negative = (nn.functional.softplus(scores[~positive]) - log2).mean()
    return expected_negative - expected_positive
