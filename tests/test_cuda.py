"""The GPU paths, on a CUDA machine only (skipped elsewhere; benchmarks/gpu_check.sh runs them): `auto` precision
asks the chosen GPU, a tiny cycle trains in bf16 and in fp16, sharded bf16 labels merge to the unsharded ones
within bf16's precision, and int8 labelling is refused on a GPU."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from artifacts.pairs import read_labelled
from flows.plain import run_plain
from models.config import PipelineConfig
from models.runtime import resolve_precision
from pipeline.preflight import preflight

pytestmark = [pytest.mark.cuda, pytest.mark.slow]

TINY = dict(pool="stsb", max_pairs=48, warmup="mirror", max_steps=3, warmup_batch_size=16, bi_batch_size=16,
            cross_batch_size=16, eval_batch_size=256, cycles=1, eval="none", device="cuda", labellers="")
# bf16 keeps 8 bits of mantissa: one rounding moves a value by up to eps/2 of its size; another batch (another
# padding, another kernel) rounds a label's few layers differently, so labels in [-1, 1] agree to a few eps
BF16_LABEL_ATOL = 4 * torch.finfo(torch.bfloat16).eps


def _entries(outcome: dict) -> list[dict]:
    return json.loads((Path(outcome["run_dir"]) / "manifest.json").read_text())["entries"]


def test_auto_precision_asks_each_chosen_gpu_not_the_default_one() -> None:
    current = torch.cuda.current_device()
    for index in range(torch.cuda.device_count()):
        native = torch.cuda.get_device_capability(index)[0] >= 8
        chosen = resolve_precision(torch.device(f"cuda:{index}"), "auto")
        assert chosen == (torch.bfloat16 if native else torch.float16), torch.cuda.get_device_name(index)
    assert torch.cuda.current_device() == current, "the default device is left as it was"


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_a_tiny_cycle_trains_on_the_gpu_in_mixed_precision(precision: str, tiny_model_dir: Path, mini_sts_dir: Path,
                                                           tmp_path: Path) -> None:
    if precision == "bf16" and not torch.cuda.is_bf16_supported(including_emulation=False):
        pytest.skip("this GPU has no native bf16")
    outcome = run_plain("paper", PipelineConfig(model=str(tiny_model_dir), data_dir=str(mini_sts_dir),
                                                precision=precision, **TINY), tmp_path)
    trained = [e for e in _entries(outcome) if e["stage"] in ("warmup", "cross", "bi")]
    assert [e["stage"] for e in trained] == ["warmup", "cross", "bi"]
    for entry in trained:
        metrics = entry["metrics"]
        assert math.isfinite(metrics["first_loss"]) and math.isfinite(metrics["last_loss"]), entry["stage"]
        assert metrics["overflow_skips"] < metrics["steps"], "some step learned"
        if precision == "bf16":
            assert metrics["overflow_skips"] == 0, "bf16 needs no loss scaling: no step is ever skipped"


def test_sharded_labels_under_bf16_merge_to_the_unsharded_ones_within_bf16s_precision(
        tiny_model_dir: Path, mini_sts_dir: Path, tmp_path: Path) -> None:
    if not torch.cuda.is_bf16_supported(including_emulation=False):
        pytest.skip("this GPU has no native bf16")
    settings = dict(TINY, model=str(tiny_model_dir), data_dir=str(mini_sts_dir), precision="bf16")
    whole = run_plain("paper", PipelineConfig(**settings), tmp_path / "whole")
    sharded = run_plain("paper", PipelineConfig(**settings, shard_pairs=20), tmp_path / "sharded")

    def labels(outcome: dict) -> list[np.ndarray]:
        return [read_labelled(Path(e["path"]))["label"].to_numpy() for e in _entries(outcome)
                if e["stage"] == "average-labels"]

    assert len([e for e in _entries(sharded) if e["stage"] == "merge-labels"]) == 2
    for one, other in zip(labels(whole), labels(sharded), strict=True):
        np.testing.assert_allclose(one, other, atol=BF16_LABEL_ATOL)


def test_int8_labelling_with_the_auto_device_on_a_gpu_is_refused_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        preflight(PipelineConfig(label_int8=True, device="auto", labellers=""), tmp_path)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: --label-int8 labels on CPU only, and --device auto (a GPU is visible) labels on a GPU; drop "
        "--label-int8, or pass --device cpu"]
