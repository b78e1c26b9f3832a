"""Failures a long run meets: a diverging loss and a full disk end in one line, keep the finished work, and resume."""
from __future__ import annotations

import errno
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

import artifacts.pairs
from flows.plain import main as plain_main
from models.training.trainer import OptimSettings, TrainingDiverged, train


def _quick_run(model: Path, data: Path, out: Path, *extra: str) -> list[str]:
    return ["--model", str(model), "--labellers", "", "--pool", "stsb", "--data-dir", str(data), "--max-pairs", "48",
            "--bi-batch-size", "16", "--cross-batch-size", "16", "--warmup", "mirror", "--warmup-batch-size", "16",
            "--max-steps", "3", "--cycles", "1", "--eval", "none", "--device", "cpu", "--out", str(out), *extra]


def _statuses(out: Path) -> dict[str, str]:
    """Stage -> status in the latest run's manifest."""
    latest = max(out.glob("*/manifest.json"), key=lambda path: path.stat().st_mtime_ns)
    manifest = json.loads(latest.read_text())
    return {entry["stage"]: entry["status"] for entry in manifest["entries"]}


def _stored(out: Path, stage: str) -> list[Path]:
    folder = out / "store" / stage
    return list(folder.iterdir()) if folder.is_dir() else []


def _leftovers(out: Path) -> list[Path]:
    return [path for path in (out / "store").rglob("*") if ".tmp-" in path.name]


def test_a_non_finite_loss_stops_training_at_that_step_with_the_last_finite_steps_weights() -> None:
    torch.manual_seed(0)
    module, inputs, targets = torch.nn.Linear(4, 1), torch.randn(64, 4), torch.randn(64, 1)
    seen: list[torch.Tensor] = []

    def batch_loss(index: np.ndarray) -> torch.Tensor:
        seen.append(torch.cat([module.weight.detach().flatten(), module.bias.detach()]).clone())
        loss = torch.nn.functional.mse_loss(module(inputs[index]), targets[index])
        return loss * float("nan") if len(seen) == 3 else loss

    with pytest.raises(TrainingDiverged, match=r"^fit test: the loss became nan at step 3 of 8, so training stopped"):
        train(module, 64, batch_loss, OptimSettings(lr=0.1, batch_size=8, epochs=1), 0, torch.device("cpu"), None,
              "fit test")
    assert len(seen) == 3, "training stopped at the first non-finite loss"
    assert not torch.equal(seen[0], seen[2]), "the two good steps changed the weights"
    final = torch.cat([module.weight.detach().flatten(), module.bias.detach()])
    assert torch.equal(final, seen[2]), "the weights are those after the last finite step"


@pytest.mark.slow  # a whole pipeline run, then its rerun
def test_a_diverging_stage_ends_in_one_line_and_the_fixed_rerun_reuses_the_finished_stages(
        tiny_model_dir: Path, sts_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        plain_main(_quick_run(tiny_model_dir, sts_dir, tmp_path, "--cross-lr", "1e30"))
    assert exit_info.value.code == 1
    error = capsys.readouterr().err
    assert "Traceback" not in error
    assert "error: fit cross-encoder: the loss became nan at step 3 of 3" in error and "--cross-lr" in error
    assert f"Finished stages are kept under {tmp_path / 'store'}" in error
    assert not _stored(tmp_path, "cross") and not _leftovers(tmp_path)

    plain_main(_quick_run(tiny_model_dir, sts_dir, tmp_path))
    statuses = _statuses(tmp_path)
    assert statuses["warmup"] == statuses["bi-labels"] == "cached" and statuses["cross"] == "ran"


@pytest.mark.slow  # a whole pipeline run, then its rerun
def test_a_full_disk_fails_the_stage_cleanly_and_the_rerun_succeeds(
        tiny_model_dir: Path, sts_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = pq.write_table

    def disk_fills_up(table: object, where: str | Path, **kwargs: object) -> None:
        if "cross-labels" in str(where):  # half the file reaches the disk, then ENOSPC
            real_write(table, where, **kwargs)
            Path(where).write_bytes(Path(where).read_bytes()[:100])
            raise OSError(errno.ENOSPC, "No space left on device", str(where))
        real_write(table, where, **kwargs)

    monkeypatch.setattr(artifacts.pairs.pq, "write_table", disk_fills_up)
    with pytest.raises(SystemExit) as exit_info:
        plain_main(_quick_run(tiny_model_dir, sts_dir, tmp_path))
    assert exit_info.value.code == 1
    error = capsys.readouterr().err
    assert "Traceback" not in error and "error: no space left on the disk writing" in error
    assert not _stored(tmp_path, "cross-labels") and not _leftovers(tmp_path), "the half-written file is gone"

    monkeypatch.setattr(artifacts.pairs.pq, "write_table", real_write)
    plain_main(_quick_run(tiny_model_dir, sts_dir, tmp_path))
    statuses = _statuses(tmp_path)
    assert statuses["cross"] == "cached" and statuses["cross-labels"] == "ran" and statuses["bi"] == "ran"
