"""Shared fixtures: the real STS folder and a tiny random BERT built offline."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def sts_dir() -> Path:
    """The STS benchmark folder: $STS_DATA_DIR, else ../shared/data/sts beside the repo."""
    path = Path(os.environ.get("STS_DATA_DIR", REPO_ROOT.parent / "shared" / "data" / "sts"))
    if not (path / "stsb" / "sts-dev.csv").is_file():
        pytest.fail(f"STS data not found at {path}: set STS_DATA_DIR to the folder of ../shared/data/sts")
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A raw (non sentence-transformers) tiny BERT folder, built once per test session."""
    from tests.tiny_model import build_tiny_bert

    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))
