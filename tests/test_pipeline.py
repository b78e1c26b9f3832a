"""The plain-Python pipeline end to end: tiny model, real STS data, two cycles."""
from __future__ import annotations

import json
from pathlib import Path

import sentence_transformers

from models.config import PipelineConfig
from models.pipeline import run_pipeline
from models.data import TEST_SETS


def test_two_cycles_write_models_scores_and_pick_best_on_dev(tiny_model_dir: Path, sts_dir: Path,
                                                             tmp_path: Path) -> None:
    config = PipelineConfig(model=str(tiny_model_dir), data_dir=str(sts_dir), pool="stsb", max_pairs=48,
                            warmup="mirror", cycles=2, max_steps=2, warmup_batch_size=16, bi_batch_size=16,
                            cross_batch_size=16, eval_batch_size=256, device="cpu")
    results = run_pipeline(config, tmp_path)
    assert set(results.scores) == {"start bi", "cycle 1 bi", "cycle 1 cross", "cycle 2 bi", "cycle 2 cross"}
    for scores in results.scores.values():
        assert set(scores) == {*TEST_SETS, "avg", "dev"}
        assert all(-100 <= value <= 100 for value in scores.values())
    assert results.scores["cycle 1 bi"] != results.scores["start bi"], "training changed the bi-encoder"
    dev = {c: results.scores[f"cycle {c} cross"]["dev"] for c in (1, 2)}
    assert results.best["cross"] == max(dev, key=dev.get)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["best_cycle"] == results.best
    sentence_transformers.SentenceTransformer(str(tmp_path / "cycle2" / "bi-encoder"), device="cpu")
