"""`python -m flows.evaluate`: agrees with the independent SentEval-style numbers; scores users' own pairs."""
from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from flows.evaluate import main
from models.data import load_stsb_dev
from models.encoders.cross_encoder import CrossEncoder
from models.metrics import roc_auc100

# all-MiniLM-L6-v2, measured independently with sentence-transformers (issue 4).
PUBLISHED = {"STS16": 78.99, "STSBenchmark": 82.03}


def test_default_model_matches_the_independent_numbers(sts_dir: Path, prefect_server: str, tmp_path: Path) -> None:
    out = tmp_path / "evaluation.json"
    report = main(["minilm-l6", "--tasks", *PUBLISHED, "--data-dir", str(sts_dir), "--device", "cpu",
                   "--out", str(out)])
    scores = report["results"][0]["scores"]
    assert report["results"][0]["kind"] == "bi"
    for task, expected in PUBLISHED.items():
        assert scores[task] == pytest.approx(expected, abs=0.05), task
    assert json.loads(out.read_text())["results"][0]["scores"] == scores
    assert _artifact_rows("sts-evaluation")[0]["STS16"] == f"{scores['STS16']:.2f}"


def _artifact_rows(key: str) -> list[dict[str, str]]:
    async def latest() -> list[dict[str, str]]:
        async with get_client() as client:
            found = await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
            data = found[-1].data
            return json.loads(data) if isinstance(data, str) else data
    return asyncio.run(latest())


def _dev_pairs(sts_dir: Path, folder: Path, rows: int = 300) -> tuple[Path, Path]:
    """STS-B dev rows as a user's files: one with graded labels, one with 0/1 paraphrase labels."""
    dev = load_stsb_dev(sts_dir)
    table = pd.DataFrame({"q1": dev.sentences1[:rows], "q2": dev.sentences2[:rows], "score": dev.scores[:rows]})
    graded, binary = folder / "graded.csv", folder / "binary.parquet"
    table.to_csv(graded, index=False)
    table.assign(score=(table["score"] >= 4).astype(int)).to_parquet(binary)
    return graded, binary


def test_own_pairs_graded_and_binary_for_bi_and_cross(sts_dir: Path, tiny_model_dir: Path, prefect_server: str,
                                                      tmp_path: Path) -> None:
    graded, binary = _dev_pairs(sts_dir, tmp_path)
    cross = tmp_path / "cross"
    CrossEncoder.from_pretrained(tiny_model_dir).save(cross)
    common = ["--skip-sts", "--text-a", "q1", "--text-b", "q2", "--label-column", "score", "--device", "cpu"]

    report = main(["minilm-l6", str(cross), "--pairs", str(graded), *common, "--out", str(tmp_path / "g.json")])
    (bi, cr) = report["results"]
    assert (bi["kind"], cr["kind"]) == ("bi", "cross")
    assert bi["pairs"]["metric"] == "spearman" and bi["pairs"]["pairs"] == 300
    assert bi["pairs"]["value"] > 70  # a real sentence encoder on real STS-B dev pairs
    assert bi["scores"] == {}

    report = main(["minilm-l6", "--pairs", str(binary), *common, "--out", str(tmp_path / "b.json")])
    assert report["results"][0]["pairs"]["metric"] == "roc_auc"
    assert report["results"][0]["pairs"]["value"] > 80


def test_bad_input_is_one_line_naming_file_row_or_model(sts_dir: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    graded, _ = _dev_pairs(sts_dir, tmp_path, rows=20)
    table = pd.read_csv(graded).astype({"score": object})
    table.loc[6, "score"] = "n/a"
    table.to_csv(graded, index=False)
    common = ["--pairs", str(graded), "--skip-sts", "--text-a", "q1", "--text-b", "q2", "--device", "cpu"]
    for argv, expected in ((["minilm-l6", *common, "--label-column", "score"],
                            r"graded\.csv, data row 7: label column 'score' holds 'n/a'"),
                           (["minilm-l6", *common], "no label column 'label'.*pass --label-column NAME"),
                           ([str(tmp_path), *common], "has no \\*\\.safetensors weights")):
        with pytest.raises(SystemExit) as done:
            main(argv)
        error = capsys.readouterr().err.strip()
        assert done.value.code == 2 and "\n" not in error and "Traceback" not in error
        assert re.search(f"^error: .*{expected}", error), error


def test_roc_auc_counts_ordered_pairs() -> None:
    rng = np.random.default_rng(0)
    scores, labels = rng.normal(size=200).round(1), rng.integers(0, 2, 200)
    pos, neg = scores[labels == 1], scores[labels == 0]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    assert roc_auc100(scores, labels) == pytest.approx(100 * wins / (len(pos) * len(neg)))
