"""IS-BERT: the n-gram CNN and its mutual-information loss learn, ignore padding, and export to
sentence-transformers."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import sentence_transformers
import torch

from models.config import PipelineConfig
from models.encoders.bi_encoder import BiEncoder
from models.runtime import Runtime
from models.warmup import METHODS, warm_up
from models.warmup.isbert import jsd_infomax_loss
from tests.tiny_model import SENTENCES

CPU = Runtime.create("cpu", "fp32", seed=3)


def isbert(tiny_model_dir: Path, epochs: int = 1) -> tuple[BiEncoder, float, float]:
    bi = BiEncoder.from_pretrained(tiny_model_dir)
    config = PipelineConfig(warmup="isbert", warmup_batch_size=6, warmup_lr=1e-3, warmup_epochs=epochs, device="cpu")
    stats = warm_up(bi, SENTENCES, config, CPU)
    assert stats is not None
    return bi, stats.first_loss, stats.last_loss


def test_the_family_has_one_class_per_method() -> None:
    assert set(METHODS) == {"mirror", "simcse", "isbert"}


def test_isbert_loss_falls_and_the_encoder_weights_move(tiny_model_dir: Path) -> None:
    start = BiEncoder.from_pretrained(tiny_model_dir)
    bi, first, last = isbert(tiny_model_dir, epochs=8)
    assert last < first, f"the MI loss falls over 16 steps ({first:.4f} -> {last:.4f})"
    moved = [name for name, p in start.transformer.named_parameters()
             if not torch.equal(p, dict(bi.transformer.named_parameters())[name])]
    assert moved, "the transformer itself learns, not just the CNN"
    assert bi.ngram is not None and bi.pooling == "mean" and bi.dimension == 3 * 256


def test_the_jensen_shannon_estimate_matches_a_hand_computed_value() -> None:
    # sentence 0: two tokens; sentence 1: one token and one padding token (huge, so counting it would show)
    local = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[2.0, 1.0], [9.0, 9.0]]])
    mask = torch.tensor([[1, 1], [1, 0]])
    global_ = torch.tensor([[1.0, 1.0], [1.0, -1.0]])
    softplus = lambda x: math.log1p(math.exp(x))  # noqa: E731
    positives = [1.0, 1.0, 1.0]  # t00.g0, t01.g0, t10.g1
    negatives = [1.0, -1.0, 3.0]  # t00.g1, t01.g1, t10.g0
    expected_positive = sum(math.log(2) - softplus(-s) for s in positives) / 3
    expected_negative = sum(softplus(s) - math.log(2) for s in negatives) / 3
    loss = jsd_infomax_loss(local, global_, mask)
    assert math.isclose(float(loss), expected_negative - expected_positive, rel_tol=1e-6)


def test_padding_changes_no_embedding(tiny_model_dir: Path) -> None:
    bi, _, _ = isbert(tiny_model_dir)
    short = "a man"
    alone = bi.encode([short], batch_size=1)
    beside_a_long_one = bi.encode([short, "a small red ball is in the water with the big blue dog"], batch_size=2)
    np.testing.assert_allclose(alone[0], beside_a_long_one[0], atol=1e-6)


def test_the_export_reloads_with_the_same_embeddings_in_both_libraries(tiny_model_dir: Path, tmp_path: Path) -> None:
    bi, _, _ = isbert(tiny_model_dir)
    bi.save(tmp_path)
    ours = bi.encode(SENTENCES)
    np.testing.assert_allclose(BiEncoder.from_pretrained(tmp_path).encode(SENTENCES), ours, atol=1e-5)
    theirs = sentence_transformers.SentenceTransformer(str(tmp_path), device="cpu",
                                                       trust_remote_code=True).encode(SENTENCES)
    np.testing.assert_allclose(theirs, ours, atol=1e-5)
    assert not [p for p in tmp_path.rglob("*") if p.suffix in (".bin", ".pt", ".pth", ".pkl")], "safetensors only"
