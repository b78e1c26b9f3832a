"""benchmarks/speed.py runs end to end on the tiny model, so the benchmark cannot rot."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from benchmarks.speed import TORCH_TASKS, main

pytestmark = pytest.mark.slow
# in process, a benchmark sets torch's threads: keep this worker's (`make test` runs two workers, a core each)
THREADS = str(torch.get_num_threads())


def test_speed_benchmark_measures_every_task_and_checks_agreement(tiny_model_dir: Path, sts_dir: Path,
                                                                   tmp_path: Path) -> None:
    """The PyTorch rows on the tiny model; the ONNX rows need the peer's environment and a model its transformers 4
    reads (tests/test_onnx.py loads our exports there; benchmarks/SPEED.md has the rows measured)."""
    figures = main(["--model", str(tiny_model_dir), "--data-dir", str(sts_dir), "--pairs", "24", "--scoring-pairs",
                    "24", "--rounds", "1", "--in-process", "--threads", THREADS, "--json", str(tmp_path / "speed.json"),
                    "--out", str(tmp_path / "SPEED.md"), "--peer-python", str(tmp_path / "no-peer")])
    assert json.loads((tmp_path / "speed.json").read_text()) == figures
    assert set(figures["tasks"]) == set(TORCH_TASKS), "without the peer's interpreter the ONNX rows are left out"
    for task in TORCH_TASKS:  # the ratio is ours over theirs in throughput: the sides are not swapped
        ours, theirs = (figures["tasks"][task][f"{side}_seconds"] for side in ("ours", "theirs"))
        half_ms = 5e-4  # the seconds are rounded to the millisecond, the ratio from the unrounded ones
        assert (theirs - half_ms) / (ours + half_ms) - 1e-3 <= figures[f"{task}_ratio"] \
            <= (theirs + half_ms) / (ours - half_ms) + 1e-3, (task, ours, theirs)
    assert figures["bi_cosine_max_gap"] <= 1e-4 and figures["cross_score_spearman"] > 0.999
    # the fraction is rounded to 3 decimals and both GFLOP/s to one: the quotient of the rounded ones moves as much
    achieved, peak = figures["encode_gflops"], figures["matmul_peak_gflops"]
    assert figures["encode_peak_fraction"] == pytest.approx(achieved / peak,
                                                            abs=5e-4 + 0.05 / peak + 0.05 * achieved / peak ** 2)
    assert "| bi_scoring | 24 |" in (tmp_path / "SPEED.md").read_text()


def test_int8_benchmark_labels_dev_both_ways_with_each_labeller(tiny_model_dir: Path, sts_dir: Path,
                                                                  tmp_path: Path) -> None:
    from benchmarks.int8_labels import main as int8_main

    int8_main(["--bi", str(tiny_model_dir), "--cross", str(tiny_model_dir), "--data-dir", str(sts_dir),
               "--rounds", "1", "--pairs", "300", "--threads", THREADS, "--out", str(tmp_path / "INT8.md")])
    rows = [line for line in (tmp_path / "INT8.md").read_text().splitlines() if line.startswith(("| bi ", "| cross "))]
    assert len(rows) == 2 and all("x**" in row for row in rows)
    bi_row = next(row for row in rows if row.startswith("| bi "))
    # int8 bi labels rank the dev pairs as fp32 ones do (a swapped or broken column would not). The random
    # cross-encoder's scores differ between pairs by less than int8 rounding, so its agreement says nothing.
    assert float(bi_row.split("|")[5]) > 0.9, bi_row


def test_scaling_benchmark_measures_each_pool_stage_at_each_size(tiny_model_dir: Path, mini_sts_dir: Path,
                                                                 tmp_path: Path) -> None:
    from benchmarks.scaling import main as scaling_main

    scaling_main(["--model", str(tiny_model_dir), "--data-dir", str(mini_sts_dir), "--sizes", "130", "260",
                  "--train-sizes", "130", "--device", "cpu", "--in-process", "--json", str(tmp_path / "rows.json"),
                  "--out", str(tmp_path / "SCALING.md")])
    rows = json.loads((tmp_path / "rows.json").read_text())
    assert [(row["size"], row["stage"]) for row in rows] == [
        (130, "pool"), (130, "bi-labels"), (130, "cross-labels"), (130, "cross"), (130, "bi"),
        (260, "pool"), (260, "bi-labels"), (260, "cross-labels")]
    assert (tmp_path / "scaling.png").stat().st_size > 0
    report, measured = (tmp_path / "SCALING.md").read_text(), {(row["stage"], row["size"]): row for row in rows}
    for stage in ("bi-labels", "cross"):  # the tables show what each size measured; cross trained at 130 only
        for key, shown in (("seconds", ".1f"), ("peak_rss_mb", ".0f")):
            at_260 = format(measured[stage, 260][key], shown) if (stage, 260) in measured else "-"
            assert f"| {stage} | {format(measured[stage, 130][key], shown)} | {at_260} |" in report, (stage, key)
