"""Every training stage learns what it should (its loss falls, its outputs move towards its labels), on a tiny random
BERT; a warm-up moves the weights; CPU runs repeat exactly."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import spearmanr

from artifacts.pairs import read_labelled, write_labelled
from artifacts.store import Store
from models.config import PipelineConfig
from models.encoders.bi_encoder import BiEncoder
from models.encoders.cross_encoder import CrossEncoder
from models.encoders.loading import load_bi
from models.runtime import Runtime, seed_everything
from models.training.distillation import distil_bi_encoder, fit_cross_encoder, label_with_bi, label_with_cross
from models.training.labels import average_labels, transform_labels
from models.training.losses import cosent_loss
from models.training.trainer import OptimSettings, planned_batches
from models.warmup import warm_up
from models.warmup.mirror import mask_random_span
from pipeline.presets import preset
from pipeline.registry import STAGES
from pipeline.stage import StageContext, StageParams
from tests.tiny_model import SENTENCES

CPU = Runtime.create("cpu", "fp32", seed=7)
PAIRS_A, PAIRS_B = SENTENCES[:6], SENTENCES[6:]


def quick(**changes: object) -> PipelineConfig:
    settings: dict[str, object] = dict(warmup_batch_size=4, cross_batch_size=4, bi_batch_size=4, cross_lr=1e-3,
                                       bi_lr=1e-3, warmup_lr=1e-3, bi_epochs=3, device="cpu")
    return PipelineConfig(**{**settings, **changes})  # type: ignore[arg-type]


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in module.named_parameters()}


def changed(before: dict[str, torch.Tensor], module: torch.nn.Module) -> bool:
    return any(not torch.equal(before[name], p) for name, p in module.named_parameters())


@pytest.mark.parametrize("method", ["mirror", "simcse", "isbert"])
def test_warm_up_changes_weights(tiny_model_dir: Path, method: str) -> None:
    bi = BiEncoder.from_pretrained(tiny_model_dir)
    before = snapshot(bi)
    stats = warm_up(bi, SENTENCES, quick(warmup=method), CPU)
    assert stats is not None and stats.steps == 3 and np.isfinite(stats.last_loss)
    assert changed(before, bi)


def test_warm_up_none_keeps_weights(tiny_model_dir: Path) -> None:
    bi = BiEncoder.from_pretrained(tiny_model_dir)
    before = snapshot(bi)
    assert warm_up(bi, SENTENCES, quick(warmup="none"), CPU) is None
    assert not changed(before, bi)


def test_cross_encoder_learns_bi_labels_in_both_orders(tiny_model_dir: Path) -> None:
    bi = BiEncoder.from_pretrained(tiny_model_dir)
    labels = label_with_bi(bi, PAIRS_A, PAIRS_B, quick(), CPU)
    np.testing.assert_allclose(labels, (bi.encode(PAIRS_A) * bi.encode(PAIRS_B)).sum(1), atol=1e-5)
    cross = CrossEncoder.from_pretrained(tiny_model_dir)
    error = lambda: np.abs(cross.score(PAIRS_A, PAIRS_B, symmetric=True) - labels).mean()  # noqa: E731
    error_before = error()
    stats = fit_cross_encoder(cross, PAIRS_A, PAIRS_B, labels, quick(cross_epochs=2), CPU)
    assert stats.examples == 2 * 2 * len(PAIRS_A), "both orders of every pair, every epoch"
    assert stats.last_loss < stats.first_loss and error() < error_before, (stats, error_before, error())


def test_distilling_pulls_bi_encoder_cosines_towards_cross_labels(tiny_model_dir: Path) -> None:
    cross = CrossEncoder.from_pretrained(tiny_model_dir)
    config = quick(symmetric=True, bi_epochs=15)
    targets = label_with_cross(cross, PAIRS_A, PAIRS_B, config, CPU)
    bi = BiEncoder.from_pretrained(tiny_model_dir)
    error_before = np.abs(label_with_bi(bi, PAIRS_A, PAIRS_B, config, CPU) - targets).mean()
    stats = distil_bi_encoder(bi, PAIRS_A, PAIRS_B, targets, config, CPU)
    error_after = np.abs(label_with_bi(bi, PAIRS_A, PAIRS_B, config, CPU) - targets).mean()
    assert stats.last_loss < stats.first_loss
    assert error_after < error_before


def test_cosent_loss_scores_the_order_of_the_cosines_not_their_scale() -> None:
    labels = torch.tensor([0.9, 0.1, 0.5])
    agreeing, reversed_ = torch.tensor([0.8, 0.2, 0.5]), torch.tensor([0.2, 0.8, 0.5])
    assert cosent_loss(agreeing, labels) < 0.01 < 5 < cosent_loss(reversed_, labels)
    assert torch.isclose(cosent_loss(agreeing, labels), cosent_loss(agreeing, labels * 0.1 + 0.3)), "scale-free"
    two = cosent_loss(torch.tensor([0.3, 0.5]), torch.tensor([1.0, 0.0]))
    assert torch.isclose(two, torch.log1p(torch.exp(torch.tensor(20 * 0.2))))


def test_cosent_distilling_learns_the_teachers_order(tiny_model_dir: Path) -> None:
    targets = np.array([0.9, 0.1, 0.5, 0.7, 0.3, 0.2], dtype=np.float32)
    config = quick(bi_loss="cosent", bi_batch_size=6, bi_epochs=30, bi_lr=3e-3, pooling="mean")
    bi = load_bi(tiny_model_dir, config)  # mean pooling: the random model's CLS cosines all round to 1
    before = spearmanr(label_with_bi(bi, PAIRS_A, PAIRS_B, config, CPU), targets).statistic
    stats = distil_bi_encoder(bi, PAIRS_A, PAIRS_B, targets, config, CPU)
    after = spearmanr(label_with_bi(bi, PAIRS_A, PAIRS_B, config, CPU), targets).statistic
    assert stats.last_loss < stats.first_loss
    assert after > max(before, 0.9), (before, after)


def test_cross_head_lr_trains_only_the_fresh_head_when_the_body_rate_is_zero(tiny_model_dir: Path,
                                                                                tmp_path: Path) -> None:
    cross = CrossEncoder.from_pretrained(tiny_model_dir)
    assert cross.fresh == {"model.classifier.weight", "model.classifier.bias"}, "the checkpoint has no head"
    before = snapshot(cross)
    labels = np.linspace(0.1, 0.9, len(PAIRS_A))
    fit_cross_encoder(cross, PAIRS_A, PAIRS_B, labels, quick(cross_lr=0.0, cross_head_lr=1e-2), CPU)
    moved = {name for name, p in cross.named_parameters() if not torch.equal(before[name], p)}
    assert moved == cross.fresh
    cross.save(tmp_path / "cross")
    assert CrossEncoder.from_pretrained(tmp_path / "cross").fresh == frozenset(), "a trained head is not fresh"


def test_micro_batches_add_up_to_the_whole_batch_step(tiny_model_dir: Path) -> None:
    """Splitting each batch into parts (less memory) takes the same optimiser steps, up to float rounding
    (which AdamW's normalisation magnifies for near-zero gradients, hence a bound relative to the update)."""
    targets = np.linspace(0.1, 0.9, len(PAIRS_A))
    start = snapshot(BiEncoder.from_pretrained(tiny_model_dir))
    trained = []
    for micro_batch in (None, 2):
        bi = BiEncoder.from_pretrained(tiny_model_dir)
        for module in bi.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = 0.0  # dropout draws its masks per forward call, so parts would see other masks
        distil_bi_encoder(bi, PAIRS_A, PAIRS_B, targets, quick(bi_batch_size=6, micro_batch=micro_batch), CPU)
        trained.append(snapshot(bi))
    whole, parts = trained
    largest = lambda a, b: max(float((a[name] - b[name]).abs().max()) for name in a)  # noqa: E731
    assert largest(whole, start) > 1e-4, "the steps moved the weights"
    assert largest(whole, parts) < 0.05 * largest(whole, start)


def test_cpu_training_is_deterministic_for_a_seed(tiny_model_dir: Path) -> None:
    def run() -> np.ndarray:
        seed_everything(3)
        bi = BiEncoder.from_pretrained(tiny_model_dir)
        warm_up(bi, SENTENCES, quick(warmup="mirror"), CPU)
        return bi.encode(SENTENCES)

    np.testing.assert_array_equal(run(), run())


def test_mirror_masks_one_span_of_ordinary_tokens(tiny_model_dir: Path) -> None:
    bi = BiEncoder.from_pretrained(tiny_model_dir)
    batch = bi.tokenizer(["a man is playing a guitar in the park", "a dog"], padding=True,
                         return_tensors="pt", return_special_tokens_mask=True)
    mask_id = bi.tokenizer.mask_token_id
    masked = mask_random_span(batch["input_ids"], batch["attention_mask"], batch["special_tokens_mask"],
                              mask_id, span=5, generator=torch.Generator().manual_seed(0))
    hits = masked == mask_id
    assert hits[0].sum() == 5 and hits[1].sum() == 2, "a span of 5, or every ordinary token of a short row"
    positions = hits[0].nonzero().flatten()
    assert (positions.diff() == 1).all(), "the masked tokens form one contiguous span"
    assert not (hits & batch["special_tokens_mask"].bool()).any()


def test_int8_labelling_is_close_to_full_precision_and_leaves_the_model_as_it_was(tiny_model_dir: Path) -> None:
    bi, cross = BiEncoder.from_pretrained(tiny_model_dir), CrossEncoder.from_pretrained(tiny_model_dir)
    for label, model in ((label_with_bi, bi), (label_with_cross, cross)):
        full = label(model, PAIRS_A, PAIRS_B, quick(), CPU)
        int8 = label(model, PAIRS_A, PAIRS_B, quick(label_int8=True), CPU)
        assert not np.array_equal(full, int8) and np.abs(full - int8).max() < 0.05, (full, int8)
        assert np.array_equal(full, label(model, PAIRS_A, PAIRS_B, quick(), CPU)), "the model itself stays fp32"


def test_label_transforms_and_averaging() -> None:
    raw = np.array([-0.2, 0.3, 1.2], dtype=np.float32)
    np.testing.assert_array_equal(transform_labels(raw, "raw"), raw)
    np.testing.assert_allclose(transform_labels(raw, "clip"), [0.0, 0.3, 1.0])
    np.testing.assert_allclose(transform_labels(raw, "minmax"), [0.0, 0.5 / 1.4, 1.0], atol=1e-6)
    np.testing.assert_allclose(average_labels([raw, raw + 1]), raw + 0.5)
    with pytest.raises(ValueError, match="raw, clip or minmax"):
        transform_labels(raw, "sigmoid")


def test_merged_bi_label_shards_take_the_pool_wide_transform(tmp_path: Path) -> None:
    """minmax needs the whole pool's range: shards keep raw cosines and the merge scales them all at once."""
    cosines = np.array([0.2, 0.5, 0.9, 0.4, 0.8], dtype=np.float32)
    pool = pd.DataFrame({"text_a": [f"a{i}" for i in range(5)], "text_b": [f"b{i}" for i in range(5)]})
    shards = {}
    for start, stop in ((0, 2), (2, 5)):
        path = write_labelled(tmp_path / f"{start}.parquet", pool.iloc[start:stop], cosines[start:stop], "bi-encoder",
                              1, "raw")
        shards[f"rows {start}-{stop}"] = Store.seal(path)
    context = StageContext(PipelineConfig(label_transform="minmax", device="cpu"), shards, tmp_path / "merged.parquet",
                           StageParams(labelling="bi-labels"), cycle=1)
    merged = STAGES["merge-labels"].execute(context)
    frame = read_labelled(Path(merged.artifact.path))
    assert frame["text_a"].tolist() == pool["text_a"].tolist(), "rows keep the pool's order"
    np.testing.assert_allclose(frame["label"], transform_labels(cosines, "minmax"), atol=1e-7)
    assert set(frame["label_transform"]) == {"minmax"} and merged.metrics["shards"] == 2


def test_planned_batches_are_seeded_and_capped() -> None:
    settings = OptimSettings(lr=1e-3, batch_size=4, epochs=3, max_steps=5)
    first = planned_batches(10, settings, seed=1)
    assert len(first) == 5
    assert all(np.array_equal(a, b) for a, b in zip(first, planned_batches(10, settings, seed=1)))


def test_length_grouped_batches_cover_every_example_once_with_less_padding() -> None:
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 60, size=2000).tolist()
    settings = OptimSettings(lr=1e-3, batch_size=16, epochs=1)
    grouped, plain = planned_batches(2000, settings, 3, lengths), planned_batches(2000, settings, 3)
    assert sorted(np.concatenate(grouped).tolist()) == list(range(2000)), "each example once per epoch"
    padded = lambda batches: sum(len(b) * max(lengths[i] for i in b) for b in batches)  # noqa: E731
    assert padded(grouped) < 0.8 * padded(plain), "batches of similar lengths pad less"
    starts = [min(b) for b in grouped]
    assert starts != sorted(starts), "the batches themselves stay shuffled"
    assert all(np.array_equal(a, b) for a, b in zip(grouped, planned_batches(2000, settings, 3, lengths)))


def test_presets_and_bad_settings() -> None:
    assert preset("paper").bi_epochs == 10 and preset("paper").temperature == 0.04
    assert preset("cpu", cycles=2).cycles == 2
    with pytest.raises(ValueError, match="--warmup must be one of"):
        preset("cpu", warmup="bert-flow")
    with pytest.raises(ValueError, match="unknown setting"):
        preset("cpu", learning_rate=1)
    with pytest.raises(ValueError, match="--pool custom needs --pool-path"):
        preset("cpu", pool="custom")
