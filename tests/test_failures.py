"""Failures a long run meets: a diverging loss and a full disk end in one line, keep the finished work, and resume;
a model folder killed or out of space mid-save is never taken as finished."""
from __future__ import annotations

import dataclasses
import errno
import json
import signal
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

import artifacts.pairs
from artifacts.manifest import ManifestEntry, RunManifest
from artifacts.store import Store
from flows.plain import main as plain_main
from models.training.trainer import FP16_SKIPS_IN_A_ROW, OptimSettings, TrainingDiverged, train
from pipeline.stopping import finished_stages, stop_line
from tests.conftest import REPO_ROOT


def _quick_run(model: Path, data: Path, out: Path, *extra: str) -> list[str]:
    return ["--model", str(model), "--labellers", "", "--no-onnx-export",
            "--pool", "stsb", "--data-dir", str(data), "--max-pairs", "48",
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


def _weights(module: torch.nn.Module) -> torch.Tensor:
    return torch.cat([parameter.detach().flatten() for parameter in module.parameters()]).clone()


# small enough that the scaled gradients (x 2**16) fit fp16: only the injected steps overflow
FITS_FP16 = 1e-3


def test_under_fp16_an_overflowing_step_is_skipped_by_the_grad_scaler_not_reported_as_divergence() -> None:
    """The fp16 path (autocast and a real GradScaler) on CPU: the step whose loss overflows leaves the weights as
    they were and lowers the scale; the steps around it learn."""
    torch.manual_seed(0)
    module, inputs, targets = torch.nn.Linear(4, 1), torch.randn(64, 4), torch.randn(64, 1)
    seen: list[torch.Tensor] = []

    def batch_loss(index: np.ndarray) -> torch.Tensor:
        seen.append(_weights(module))
        loss = torch.nn.functional.mse_loss(module(inputs[index]).float(), targets[index]) * FITS_FP16
        return loss * float("inf") if len(seen) == 3 else loss

    stats = train(module, 64, batch_loss, OptimSettings(lr=0.1, batch_size=8, epochs=1), 0, torch.device("cpu"),
                  torch.float16, "fit test")
    assert stats.steps == 8 and stats.overflow_skips == 1 and np.isfinite([stats.first_loss, stats.last_loss]).all()
    assert torch.equal(seen[2], seen[3]), "the overflowing step 3 was skipped: the weights did not move"
    assert not torch.equal(seen[1], seen[2]) and not torch.equal(seen[3], _weights(module)), "the others learned"


def test_under_fp16_a_loss_that_keeps_overflowing_is_divergence() -> None:
    torch.manual_seed(0)
    module, inputs, targets = torch.nn.Linear(4, 1), torch.randn(64, 4), torch.randn(64, 1)
    steps = 0

    def batch_loss(index: np.ndarray) -> torch.Tensor:
        nonlocal steps
        steps += 1
        loss = torch.nn.functional.mse_loss(module(inputs[index]).float(), targets[index]) * FITS_FP16
        return loss * float("nan") if steps > 2 else loss

    last = FP16_SKIPS_IN_A_ROW + 2
    with pytest.raises(TrainingDiverged, match=rf"^fit test: {FP16_SKIPS_IN_A_ROW} steps in a row overflowed fp16 "
                                               rf"\(the grad scaler skipped them\) up to step {last} of 32"):
        train(module, 64, batch_loss, OptimSettings(lr=0.1, batch_size=2, epochs=1), 0, torch.device("cpu"),
              torch.float16, "fit test")
    assert steps == last


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


def in_tiny_filesystem(folder: Path, kib: int, command: list[str]) -> list[str]:
    """`command` run with a fresh tmpfs of `kib` KiB mounted on `folder` (a user and mount namespace: no root
    needed), then the folder's listing printed after a marker line, as the command left it."""
    script = 'mount -t tmpfs -o size="$1"k tmpfs "$0" || exit 99; shift; "$@"; code=$?; echo "LEFT IN $0:"; ' \
             'ls -A "$0"; exit $code'
    return ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, str(folder), str(kib), *command]


@pytest.mark.slow  # a whole pipeline run, then its rerun
def test_a_full_disk_during_a_model_save_leaves_no_model_folder_and_the_rerun_succeeds(
        tiny_model_dir: Path, sts_dir: Path, tmp_path: Path) -> None:
    cross_folder = tmp_path / "store" / "cross"  # the cross stage saves its model onto a 32 KiB disk: it fills up
    cross_folder.mkdir(parents=True)
    command = [sys.executable, "-m", "flows.plain", *_quick_run(tiny_model_dir, sts_dir, tmp_path)]
    if subprocess.run(in_tiny_filesystem(cross_folder, 32, ["true"]), capture_output=True).returncode != 0:
        pytest.skip("no unprivileged user and mount namespaces here to mount a tiny tmpfs")
    full = subprocess.run(in_tiny_filesystem(cross_folder, 32, command), cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=600)
    assert full.returncode == 1, full.stdout[-3000:] + full.stderr[-3000:]
    assert "Traceback" not in full.stderr, "safetensors' full-disk error reads as a full disk, not a crash"
    assert "error: no space left on the disk (No space left on device); the unfinished file or model folder was " \
           "removed" in full.stderr
    assert full.stdout.split("LEFT IN ")[1].splitlines()[1:] == [], "nothing of the model is left on the full disk"

    rerun = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    statuses = _statuses(tmp_path)
    assert statuses["bi-labels"] == "cached" and statuses["cross"] == statuses["bi"] == "ran"


SAVE_THEN_WAIT = """
import sys, time
from pathlib import Path
from artifacts.atomic import atomic_path
from models.encoders.cross_encoder import CrossEncoder
model = CrossEncoder.from_pretrained(sys.argv[1])
with atomic_path(Path(sys.argv[2]), is_dir=True) as temp:
    model.save(temp)
    print("written, not renamed", flush=True)
    time.sleep(600)
"""


def test_sigkill_during_a_model_save_leaves_no_folder_a_later_run_takes_as_finished(
        tiny_model_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "store" / "cross" / "0123456789abcdef"
    saving = subprocess.Popen([sys.executable, "-c", SAVE_THEN_WAIT, str(tiny_model_dir), str(target)],
                              cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    assert saving.stdout is not None and saving.stdout.readline() == "written, not renamed\n"
    saving.send_signal(signal.SIGKILL)  # every file of the model is written: the most a kill can leave
    saving.wait(timeout=30)
    assert not target.exists() and Store.verified(target) is None, "no folder at the stage's path: the stage reruns"
    left = [path.name for path in target.parent.iterdir()]
    assert len(left) == 1 and left[0].startswith(f".{target.name}.tmp-"), left
    assert (target.parent / left[0] / "model.safetensors").is_file(), "the kill came after the weights were written"


def test_the_stop_line_names_only_the_stages_this_run_finished(tmp_path: Path) -> None:
    manifest_path = tmp_path / "manifest.json"
    pool = ManifestEntry("pool", None, "store/pool/k.parquet", "d", "ran", 0.1, title="pool")
    earlier = RunManifest("cpu-1", {}, "cmd", started="2020-01-01T00:00:00+00:00", entries=[pool])
    earlier.write(manifest_path)
    since = datetime.now(timezone.utc)
    assert finished_stages(manifest_path, since) == [], "the folder's earlier run finished them, not this one"
    RunManifest("cpu-1", {}, "cmd", entries=[dataclasses.replace(pool, status="cached")]).write(manifest_path)
    assert finished_stages(manifest_path, since) == ["pool"]
    assert stop_line("stopped by SIGTERM", ["pool"], "python -m flows.plain") == \
        "stopped by SIGTERM: 1 stage(s) finished and are stored (pool); resume with: python -m flows.plain"
