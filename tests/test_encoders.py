"""Encoders: batching/normalisation, symmetric scoring, and sentence-transformers round trips."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sentence_transformers
import torch

from models.config import PipelineConfig
from models.encoders.bi_encoder import BiEncoder
from models.encoders.cross_encoder import CrossEncoder
from models.encoders.lengths import pool_truncations
from models.encoders.sources import ModelSourceError, resolve_model_source
from tests.tiny_model import SENTENCES


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_encode_is_normalised_and_order_independent_of_batching(tiny_model_dir: Path, pooling: str) -> None:
    bi = BiEncoder.from_pretrained(tiny_model_dir, pooling=pooling)
    one_batch = bi.encode(SENTENCES, batch_size=64)
    small_batches = bi.encode(SENTENCES, batch_size=3)
    assert one_batch.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(one_batch, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(one_batch, small_batches, atol=1e-5)
    single = bi.encode([SENTENCES[4]])[0]
    np.testing.assert_allclose(single, one_batch[4], atol=1e-5)


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_bi_encoder_round_trip_through_sentence_transformers(tiny_model_dir: Path, tmp_path: Path,
                                                             pooling: str) -> None:
    bi = BiEncoder.from_pretrained(tiny_model_dir, pooling=pooling, max_length=16)
    ours = bi.encode(SENTENCES)
    folder = bi.save(tmp_path / "bi")
    theirs = sentence_transformers.SentenceTransformer(str(folder), device="cpu").encode(SENTENCES)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    reloaded = BiEncoder.from_pretrained(folder, max_length=16)
    assert reloaded.pooling == pooling
    np.testing.assert_allclose(reloaded.encode(SENTENCES), ours, atol=1e-6)


def test_cross_encoder_round_trip_through_sentence_transformers(tiny_model_dir: Path, tmp_path: Path) -> None:
    torch.manual_seed(0)
    cross = CrossEncoder.from_pretrained(tiny_model_dir, max_length=24)
    a, b = SENTENCES[:6], SENTENCES[6:]
    with torch.no_grad():  # a fresh head scores every pair alike to 1e-4: a 1e4 times larger, centred one spreads
        cross.model.classifier.weight.mul_(1e4)  # the scores, so that agreeing to 1e-5 below means something
        cross.model.classifier.bias -= float(cross.logits(a, b).mean())
    ours = cross.score(a, b)
    assert ours.max() - ours.min() > 0.1, ours
    cross.eval()
    with torch.no_grad():  # each pair alone, no padding: the batched scores are the sigmoid of the model's own logit
        alone = [torch.sigmoid(cross.model(**cross.tokenizer(x, y, truncation=True, max_length=24,
                                                              return_tensors="pt")).logits).item()
                 for x, y in zip(a, b)]
    np.testing.assert_allclose(ours, alone, atol=1e-5)
    folder = cross.save(tmp_path / "cross")
    theirs = sentence_transformers.CrossEncoder(str(folder), device="cpu").predict(list(zip(a, b)))
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    np.testing.assert_allclose(CrossEncoder.from_pretrained(folder, max_length=24).score(a, b), ours, atol=1e-6)


def test_symmetric_score_is_mean_of_both_orders(tiny_model_dir: Path) -> None:
    torch.manual_seed(0)
    cross = CrossEncoder.from_pretrained(tiny_model_dir)
    a, b = SENTENCES[:6], SENTENCES[6:]
    forward, backward = cross.score(a, b), cross.score(b, a)
    assert not np.allclose(forward, backward), "a random cross-encoder should not be symmetric by chance"
    np.testing.assert_allclose(cross.score(a, b, symmetric=True), (forward + backward) / 2, atol=1e-6)


def test_model_sources(tiny_model_dir: Path, tmp_path: Path) -> None:
    assert resolve_model_source(tiny_model_dir) == str(tiny_model_dir)
    assert Path(resolve_model_source("minilm-l6"), "model.safetensors").is_file()
    assert resolve_model_source("bert-base-uncased") == "bert-base-uncased"
    (tmp_path / "pickled").mkdir()
    (tmp_path / "pickled" / "pytorch_model.bin").write_bytes(b"")
    with pytest.raises(ModelSourceError, match="safetensors"):
        resolve_model_source(tmp_path / "pickled")
    with pytest.raises(ModelSourceError, match="not a model folder"):
        resolve_model_source(tmp_path / "missing")


def test_truncation_counts_per_stage_use_the_tokenizer_and_its_special_tokens(tiny_model_dir: Path) -> None:
    short, six, ten = "a man", "a man is playing a guitar", "the big blue dog runs the big blue dog runs"
    config = PipelineConfig(bi_max_length=8, cross_max_length=14, warmup="none")
    found = {t.stage: t for t in pool_truncations(tiny_model_dir, [six, ten], [short, six], config)}
    assert set(found) == {"bi-encoder", "cross-encoder"}, "no warm-up, no warm-up length"
    assert (found["bi-encoder"].cut, found["bi-encoder"].total) == (1, 3), "only the ten-word sentence exceeds 8"
    assert (found["cross-encoder"].cut, found["cross-encoder"].total) == (1, 2), "6+2+3 fits 14, 10+6+3 does not"
    assert found["bi-encoder"].describe() == ("1 of 3 distinct sentences are longer than 8 tokens and will be cut for "
                                             "the bi-encoder (--bi-max-length)")


def test_embedding_cache_encodes_each_sentence_once_per_model_and_never_mixes_models(tiny_model_dir: Path,
                                                                                    tmp_path: Path) -> None:
    bi = BiEncoder.from_pretrained(tiny_model_dir)
    expected, row = bi.embed_distinct(SENTENCES)
    encoded: list[str] = []
    plain_encode = bi.encode
    bi.encode = lambda texts, *args, **kwargs: (encoded.extend(texts), plain_encode(texts, *args, **kwargs))[1]
    bi.embedding_cache = tmp_path
    bi.embed_distinct(SENTENCES[:5])
    again, row_again = bi.embed_distinct(SENTENCES)
    assert encoded == [*SENTENCES[:5], *SENTENCES[5:]], "each sentence encoded once, later calls only the new ones"
    assert row_again == row and np.allclose(again, expected, atol=1e-6)

    first_part = next(p for p in tmp_path.glob("*/*.json") if SENTENCES[0] in p.read_text())
    first_part.unlink()  # a part whose write never finished (its texts come last) is not read
    encoded.clear()
    bi.embed_distinct(SENTENCES[:5])
    assert encoded == SENTENCES[:5]

    with torch.no_grad():
        next(bi.parameters()).add_(1e-3)  # another model: nothing of the first one's is reused
    encoded.clear()
    bi.embed_distinct(SENTENCES[:5])
    assert encoded == SENTENCES[:5] and len(list(tmp_path.iterdir())) == 2
