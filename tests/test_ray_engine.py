"""`--engine ray` on a real local Ray cluster (started and stopped by the run): a two-member mutual cycle runs its
stages in Ray worker processes, both members' branches at once, and scores what the local engine scores."""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from flows.full_cycle import main

pytestmark = pytest.mark.slow


def _run(engine: str, models: dict[str, Path], data: Path, out: Path) -> dict:
    main(["--models", f"{models['bert32']},{models['bert48']}", "--labellers", "", "--pool", "stsb",
          "--data-dir", str(data), "--max-pairs", "48", "--bi-batch-size", "16", "--cross-batch-size", "16",
          "--warmup", "none", "--max-steps", "3", "--cycles", "1", "--eval", "sts", "--device", "cpu",
          "--out", str(out), "--engine", engine])
    return json.loads(next(out.glob("*/manifest.json")).read_text())


def test_a_mutual_cycle_runs_its_branches_on_ray_workers_and_scores_like_the_local_engine(
        tiny_models: dict[str, Path], mini_sts_dir: Path, tmp_path: Path) -> None:
    on_ray = _run("ray", tiny_models, mini_sts_dir, tmp_path / "ray")
    ran = [entry for entry in on_ray["entries"] if entry["status"] == "ran"]
    pids = {entry["worker"].rsplit(":", 1)[1] for entry in ran}
    assert str(os.getpid()) not in pids, "no stage ran in the driver"
    cross_workers = {entry["worker"] for entry in ran if entry["stage"] == "cross"}
    assert len(cross_workers) == 2, "the two members' cross-encoders trained in two worker processes at once"

    local = _run("local", tiny_models, mini_sts_dir, tmp_path / "local")
    assert {entry["worker"] for entry in local["entries"] if entry["status"] == "ran"} == {
        f"{socket.gethostname()}:{os.getpid()}"}
    assert on_ray["scores"].keys() == local["scores"].keys()
    for model, scores in local["scores"].items():
        assert on_ray["scores"][model] == pytest.approx(scores, abs=0.5), model
