"""`--engine ray` on a real local Ray cluster (started and stopped by the run): a two-member mutual cycle runs its
stages in Ray worker processes, both members' branches at once, and scores what the local engine scores; sharded
pool labelling merges to the unsharded labels, even when a worker is killed in the middle of a shard."""
from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
import torch

from artifacts.pairs import read_labelled
from flows.full_cycle import main

pytestmark = [pytest.mark.slow, pytest.mark.ray, pytest.mark.server]


def _run(engine: str, models: str, data: Path, out: Path, *more: str) -> dict:
    main(["--models", models, "--labellers", "", "--pool", "stsb", "--data-dir", str(data), "--max-pairs", "48",
          "--bi-batch-size", "16", "--cross-batch-size", "16", "--warmup", "none", "--max-steps", "3", "--cycles", "1",
          "--device", "cpu", "--out", str(out), "--engine", engine, *more])
    return json.loads(next(out.glob("*/manifest.json")).read_text())


def _teachers(manifest: dict) -> list[np.ndarray]:
    return [read_labelled(Path(e["path"]))["label"].to_numpy() for e in manifest["entries"]
            if e["stage"] == "average-labels"]


class ShardKiller(threading.Thread):
    """SIGKILLs the first Ray worker seen running a bi-labels task (Ray titles a busy worker `ray::<task name>`)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.killed: int | None = None
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set() and self.killed is None:
            for process in psutil.process_iter(["pid", "cmdline"]):
                if (process.info["cmdline"] or [""])[0].startswith("ray::bi-labels"):
                    os.kill(process.info["pid"], signal.SIGKILL)
                    self.killed = process.info["pid"]
                    break
            time.sleep(0.01)


def test_a_mutual_cycle_runs_its_branches_on_ray_workers_and_scores_like_the_local_engine(
        tiny_models: dict[str, Path], mini_sts_dir: Path, tmp_path: Path) -> None:
    members = f"{tiny_models['bert32']},{tiny_models['bert48']}"
    on_ray = _run("ray", members, mini_sts_dir, tmp_path / "ray", "--eval", "sts")
    ran = [entry for entry in on_ray["entries"] if entry["status"] == "ran"]
    pids = {entry["worker"].rsplit(":", 1)[1] for entry in ran}
    assert str(os.getpid()) not in pids, "no stage ran in the driver"
    cross_workers = {entry["worker"] for entry in ran if entry["stage"] == "cross"}
    assert len(cross_workers) == 2, "the two members' cross-encoders trained in two worker processes at once"

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in a Ray worker (one CPU each): the same float sums, so the same numbers
    try:
        local = _run("local", members, mini_sts_dir, tmp_path / "local", "--eval", "sts")
    finally:
        torch.set_num_threads(threads)
    assert {entry["worker"] for entry in local["entries"] if entry["status"] == "ran"} == {
        f"{socket.gethostname()}:{os.getpid()}"}
    assert on_ray["scores"].keys() == local["scores"].keys()
    for model, scores in local["scores"].items():
        assert on_ray["scores"][model] == pytest.approx(scores, abs=1e-6), model


def test_sharded_labelling_on_ray_merges_to_the_unsharded_labels_though_a_worker_is_killed_mid_shard(
        tiny_model_dir: Path, mini_sts_dir: Path, tmp_path: Path) -> None:
    killer = ShardKiller()
    killer.start()
    try:
        sharded = _run("ray", str(tiny_model_dir), mini_sts_dir, tmp_path / "ray", "--eval", "none",
                       "--shard-pairs", "16")
    finally:
        killer.done.set()
    assert killer.killed is not None, "a worker was killed while it labelled a shard"
    shards = [e for e in sharded["entries"] if e["stage"] in ("bi-labels", "cross-labels")]
    assert len(shards) == 6 and len({e["worker"] for e in shards}) >= 2, \
        "48 pairs: 3 shards of 16 per labelling, on more than one worker"
    assert all(not e["worker"].endswith(f":{killer.killed}") for e in shards), "the killed shard ran again elsewhere"

    whole = _run("local", str(tiny_model_dir), mini_sts_dir, tmp_path / "local", "--eval", "none")
    for merged, unsharded in zip(_teachers(sharded), _teachers(whole), strict=True):
        np.testing.assert_allclose(merged, unsharded, atol=1e-5)
