"""benchmarks/experiments.py runs the flow and records it; benchmarks/results.py renders RESULTS.md from that."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from benchmarks import experiments, results, stage_times

pytestmark = pytest.mark.slow


def test_results_are_generated_from_a_real_run_manifest(prefect_server: str, tiny_model_dir: Path,
                                                        mini_sts_dir: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STS_DATA_DIR", str(mini_sts_dir))
    tiny = experiments.Experiment("tiny", "two quick cycles", (
        "--preset", "cpu", "--model", str(tiny_model_dir), "--labellers", "", "--no-onnx-export",
        "--max-pairs", "32", "--max-steps", "2",
        "--cycles", "2", "--bi-batch-size", "16", "--cross-batch-size", "16", "--device", "cpu"))
    runs = tmp_path / "runs"
    monkeypatch.setattr(experiments, "EXPERIMENTS", (tiny,))
    experiments.main(["--out", str(runs)])

    record = json.loads((runs / "experiments.jsonl").read_text())
    assert record["returncode"] == 0 and record["manifest"], record
    manifest = json.loads(Path(record["manifest"]).read_text())

    out = tmp_path / "RESULTS.md"
    results.main(["--runs", str(runs), "--out", str(out), "--plot-run", "tiny", "--archive", str(tmp_path / "kept")])
    text = out.read_text()
    again = tmp_path / "again" / "RESULTS.md"
    again.parent.mkdir()
    results.main(["--runs", str(tmp_path / "kept"), "--out", str(again), "--plot-run", "tiny"])
    assert again.read_text().split("\n")[3:] == text.split("\n")[3:], "the archived manifests regenerate the tables"
    assert manifest["commit"] in text and manifest["started"] in text
    for label in ("cycle 1 bi", "cycle 2 cross"):
        assert f"| tiny: {label} | {manifest['scores'][label]['STS12']:.2f} |" in text
    assert f"{manifest['scores']['start bi']['avg']:.2f}" in text
    assert "| RoBERTa-large | 78.92 | 82.93 | 82.93 |" in text
    assert (tmp_path / "results-cycles.png").stat().st_size > 0

    # The same run made twice as fast, its first stage gone: two `scores` entries per cycle (bi, then cross) stay
    # apart, each row pairs a stage's own before and after, and the totals give the after/before ratios.
    faster = copy.deepcopy(manifest)
    for entry in faster["entries"]:
        entry["seconds"] /= 2
    faster["wall_seconds"] /= 2
    gone = faster["entries"].pop(0)
    table = stage_times.comparison_table(manifest, faster).split("\n")
    assert len(table) == 2 + len(manifest["entries"]) + 2, "a stage missing after still has its row"
    for scores in (e for e in manifest["entries"] if e["stage"] == "scores" and e["cycle"] == 2):
        row = f"| scores | 2 | {scores['member']} | {scores['seconds']:.1f} | {scores['seconds'] / 2:.1f} |"
        assert row in "\n".join(table)
    assert table[-3].startswith(f"| {gone['stage']} |") and table[-3].split(" | ")[4] == "-"
    summed = sum(e["seconds"] for e in faster["entries"]) / sum(e["seconds"] for e in manifest["entries"])
    assert table[-2].endswith(f"({summed:.2f}x) | | |") and summed < 0.5
    assert table[-1].endswith("(0.50x) | | |")
