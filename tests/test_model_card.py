"""Model cards say truthfully what the start model and every teacher were trained on, with hub front-matter."""
from __future__ import annotations

from pathlib import Path

import yaml

from models.config import PipelineConfig
from models.reporting.model_card import write_model_card

SCORES = {"cycle 1 bi": {"avg": 80.0, "dev": 87.0}}


def card(folder: Path, kind: str, config: PipelineConfig) -> tuple[dict, str]:
    text = write_model_card(folder, kind, config, 1, SCORES, "run-x").read_text()
    _, meta, body = text.split("---\n", 2)
    return yaml.safe_load(meta), body


def test_the_default_preset_says_its_start_and_teacher_were_supervised(tmp_path: Path) -> None:
    config = PipelineConfig(labellers="mpnet-base", eval="none", max_pairs=100)
    meta, body = card(tmp_path, "bi", config)
    assert meta["base_model"] == "sentence-transformers/all-MiniLM-L6-v2" and meta["license"] == "apache-2.0"
    assert meta["pipeline_tag"] == "sentence-similarity" and meta["library_name"] == "sentence-transformers"
    assert len(meta["datasets"]) == 7 and "mteb/sickr-sts" in meta["datasets"]
    assert "was trained with supervision" in body and "fully unsupervised" not in body
    assert "`mpnet-base` (sentence-transformers/all-mpnet-base-v2): a sentence encoder trained with supervision" in body
    assert "in-domain" in body


def test_a_raw_language_model_with_no_teacher_is_the_unsupervised_setting(tiny_model_dir: Path,
                                                                          tmp_path: Path) -> None:
    config = PipelineConfig(model=str(tiny_model_dir), pool="custom", pool_path="pairs.csv", eval="none")
    meta, body = card(tmp_path, "cross", config)
    assert "base_model" not in meta and "license" not in meta and "datasets" not in meta
    assert meta["pipeline_tag"] == "text-ranking"
    assert "fully unsupervised" in body and "no sentence-pair training" in body and "in-domain" not in body


def test_a_hub_model_is_not_called_raw_or_unsupervised(tmp_path: Path) -> None:
    config = PipelineConfig(model="some-org/some-encoder", eval="none")
    meta, body = card(tmp_path, "bi", config)
    assert meta["base_model"] == "some-org/some-encoder" and "license" not in meta
    assert "how it was trained is in its own model card" in body and "fully unsupervised" not in body
