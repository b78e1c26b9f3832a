"""`--engine ray` on a real local Ray cluster (started and stopped by the run): a two-member mutual cycle runs its
stages in Ray worker processes, both members' branches at once, and scores what the local engine scores; sharded
pool mining and labelling merge to the unsharded pool and labels, even when a worker is killed in the middle of a
shard."""
from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
import torch

from artifacts.pairs import read_corpus, read_embeddings, read_labelled, read_mined_pool
from flows.full_cycle import main
from models.config import PipelineConfig
from models.data.sts import read_stsb_split
from models.mining import MiningSettings, mine_pairs, neighbours

pytestmark = [pytest.mark.slow, pytest.mark.ray, pytest.mark.server]


def _run(engine: str, models: str, data: Path, out: Path, *more: str) -> dict:
    main(["--models", models, "--labellers", "", "--no-onnx-export",
          "--pool", "stsb", "--data-dir", str(data), "--max-pairs", "48",
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
    # as in the Ray workers on 2 CPUs: two members' model stages share them, one thread each (flows/engine.py's
    # stage_resources): the same float sums, so the same numbers
    torch.set_num_threads(1)
    try:
        local = _run("local", members, mini_sts_dir, tmp_path / "local", "--eval", "sts")
    finally:
        torch.set_num_threads(threads)
    assert {entry["worker"] for entry in local["entries"] if entry["status"] == "ran"} == {
        f"{socket.gethostname()}:{os.getpid()}"}
    assert on_ray["scores"].keys() == local["scores"].keys()
    for model, scores in local["scores"].items():
        assert on_ray["scores"][model] == pytest.approx(scores, abs=1e-6), model


def test_sharded_mining_and_labelling_on_ray_merge_to_the_unsharded_ones_though_a_worker_is_killed_mid_shard(
        tiny_model_dir: Path, mini_sts_dir: Path, tmp_path: Path) -> None:
    """A pool mined from a corpus of 40 texts: the neighbour search in blocks of 16 texts and each labelling in
    shards of 16 pairs, spread over the workers."""
    dev = read_stsb_split(mini_sts_dir, "dev", "dev")
    corpus = tmp_path / "texts.txt"
    corpus.write_text("\n".join(list(dict.fromkeys([*dev.sentences1, *dev.sentences2]))[:40]) + "\n")
    mining = ("--eval", "none", "--pool", "corpus", "--corpus-path", str(corpus))
    killer = ShardKiller()
    killer.start()
    try:
        sharded = _run("ray", str(tiny_model_dir), mini_sts_dir, tmp_path / "ray", *mining, "--shard-pairs", "16")
    finally:
        killer.done.set()
    assert killer.killed is not None, "a worker was killed while it labelled a shard"
    blocks = [e for e in sharded["entries"] if e["stage"] == "neighbours"]
    assert [e["title"] for e in blocks] == ["neighbours rows 0-16", "neighbours rows 16-32", "neighbours rows 32-40"]
    shards = [e for e in sharded["entries"] if e["stage"] in ("bi-labels", "cross-labels")]
    assert len(shards) == 6 and len({e["worker"] for e in [*blocks, *shards]}) >= 2, \
        "48 mined pairs: 3 shards of 16 per labelling, on more than one worker"
    assert all(not e["worker"].endswith(f":{killer.killed}") for e in shards), "the killed shard ran again elsewhere"

    pool = _path(sharded, "mine")
    texts, embeddings = read_corpus(_path(sharded, "corpus")), read_embeddings(_path(sharded, "corpus-embeddings"))
    defaults = PipelineConfig()
    ids, cosines = neighbours(embeddings, defaults.mine_neighbours)  # unsharded, on the vectors the workers searched
    unsharded, _ = mine_pairs(texts, ids, cosines, embeddings,
                              MiningSettings(defaults.mine_neighbours, defaults.mine_random, 48, defaults.seed))
    pd.testing.assert_frame_equal(read_mined_pool(pool), unsharded, obj="the blocks' neighbours make the whole pool")

    # the same pairs labelled unsharded by the local engine (another thread count: equal up to float sums)
    given = tmp_path / "mined.parquet"
    read_mined_pool(pool).rename(columns={"text_a": "sentence1", "text_b": "sentence2"}).to_parquet(given)
    whole = _run("local", str(tiny_model_dir), mini_sts_dir, tmp_path / "local", "--eval", "none", "--pool",
                 "custom", "--pool-path", str(given))
    for merged, unsharded_labels in zip(_teachers(sharded), _teachers(whole), strict=True):
        np.testing.assert_allclose(merged, unsharded_labels, atol=1e-5)


def _path(manifest: dict, stage: str) -> Path:
    return Path(next(e["path"] for e in manifest["entries"] if e["stage"] == stage))
