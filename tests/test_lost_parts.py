"""Parts of the system lost mid-run, for real: the temporary Prefect server SIGKILLed (it is started again and the
run goes on; killed again, the run ends within seconds with one line naming it and the resume command), and a Ray
worker node of a two-node local cluster killed for good mid-stage (Ray runs the stage again on the node left). In
both, the finished stages stay usable: the same command afterwards takes them from the store."""
from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from flows.full_cycle import main
from tests.child_runs import REPO_ROOT, ChildOutput, child_env, mid_way, stop_test_command
from tests.test_stop_signals import check_rerun_resumes, pool_file, sealed  # noqa: F401 (pool_file: a fixture)

LOST_SERVER_BOUND_SECONDS = 30  # no minutes of client retries against a server that is gone


def kill_prefect_servers(run: subprocess.Popen[str]) -> list[str]:
    """SIGKILL the temporary Prefect server(s) the run started (its uvicorn children)."""
    children = subprocess.run(["pgrep", "-P", str(run.pid)], capture_output=True, text=True).stdout.split()
    servers = [pid for pid in children if "uvicorn" in Path(f"/proc/{pid}/cmdline").read_text()]
    for pid in servers:
        os.kill(int(pid), signal.SIGKILL)
    return servers


@pytest.mark.slow
@pytest.mark.server
def test_a_killed_prefect_server_is_started_again_and_killed_twice_ends_the_run_with_one_line(
        tiny_model_dir: Path, pool_file: Path, tmp_path: Path) -> None:  # noqa: F811
    command = stop_test_command("flows.full_cycle", tiny_model_dir, pool_file, tmp_path / "runs")
    env = {k: v for k, v in child_env(PREFECT_HOME=str(tmp_path / "home"), PYTHONUNBUFFERED="1").items()
           if k != "PREFECT_API_URL"}
    run = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, start_new_session=True)
    output = ChildOutput(run)
    try:
        output.wait_for(lambda line: "starting cycle 1: bi-labels " in line, "start of the bi-labels stage")
        assert kill_prefect_servers(run), "the run talks to a temporary server of its own"
        output.wait_for(lambda line: "started it again on the same port and database; the run goes on" in line,
                        "the server started again", 120)
        output.wait_for(mid_way("fit cross-encoder"), "the cross-encoder's training mid-way")
        assert kill_prefect_servers(run), "the server started again is the run's child too"
        killed = time.monotonic()
        returncode = run.wait(timeout=120)
        seconds = time.monotonic() - killed
    finally:
        if run.poll() is None:
            run.kill()
    lines = [line.strip() for line in output.rest() if line.strip()]
    assert returncode == 1, "\n".join(lines[-30:])
    assert seconds < LOST_SERVER_BOUND_SECONDS, f"the run took {seconds:.0f} s to end after its server was lost"
    assert lines[-1].startswith("lost the Prefect API server at http://127.0.0.1:"), lines[-1]
    assert "(it stopped during the run with exit code -9, after 1 restart(s))" in lines[-1], lines[-1]
    assert lines[-1].endswith(f"; resume with: {shlex.join(command)}"), lines[-1]
    out = tmp_path / "runs"
    assert not [path for path in (out / "store").rglob("*") if ".tmp-" in path.name], "a half-written output is left"
    finished = lines[-1].split(" stage(s) finished and are stored (")[1].split("); resume with: ")[0].split("; ")
    assert any(name.startswith("cycle 1: bi-labels") for name in finished), finished
    assert len(finished) == len(sealed(out)), "the line names every stored stage"
    check_rerun_resumes(command, env, out, finished, "cross")


class NodeKiller(threading.Thread):
    """Kills a Ray node for good (its raylet and workers, SIGKILL) once one of its workers runs a cross stage."""

    def __init__(self, cluster: Any, node: Any) -> None:
        super().__init__(daemon=True)
        self.cluster, self.node = cluster, node
        self.raylet = node.all_processes["raylet"][0].process.pid
        self.killed_while: str | None = None
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set() and self.killed_while is None:
            for worker in psutil.Process(self.raylet).children():
                title = (worker.cmdline() or [""])[0]
                if title.startswith("ray::cross"):
                    self.killed_while = title
                    self.cluster.remove_node(self.node, allow_graceful=False)
                    break
            time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.ray
@pytest.mark.server
def test_a_ray_node_lost_for_good_mid_stage_the_run_goes_on_and_its_finished_stages_stay_usable(
        tiny_models: dict[str, Path], mini_sts_dir: Path, tmp_path: Path) -> None:
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    second = cluster.add_node(num_cpus=1)
    killer = NodeKiller(cluster, second)
    members = f"{tiny_models['bert32']},{tiny_models['bert48']}"
    command = ["--models", members, "--labellers", "", "--no-onnx-export",
               "--pool", "stsb", "--data-dir", str(mini_sts_dir),
               "--max-pairs", "48", "--bi-batch-size", "16", "--cross-batch-size", "16", "--warmup", "none",
               "--max-steps", "30", "--cycles", "1", "--device", "cpu", "--eval", "none", "--out", str(tmp_path),
               "--engine", "ray", "--ray-address", cluster.address]
    killer.start()
    try:
        main(command)
    finally:
        killer.done.set()
        cluster.shutdown()
    assert killer.killed_while is not None, "the second node was killed while it ran a cross stage"
    manifest = json.loads(next(tmp_path.glob("*/manifest.json")).read_text())
    assert {(e["stage"], e["member"]) for e in manifest["entries"] if e["stage"] == "cross"} == {
        ("cross", "bert32"), ("cross", "bert48")}, "both members' cross stages finished, one on the node left"
    main([*command[:-4], "--engine", "local"])  # the same stages: Ray or not is no part of their keys
    rerun = json.loads(next(tmp_path.glob("*/manifest.json")).read_text())
    assert all(entry["status"] == "cached" for entry in rerun["entries"]), "the finished stages are used as stored"
