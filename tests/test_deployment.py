"""The README's deployment walk-through, run for real: pool, deploy, worker, run, artifacts in the API."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client

from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.server]


def prefect(*args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(Path(sys.executable).parent / "prefect"), *args], cwd=REPO_ROOT, text=True,
                          capture_output=True, timeout=timeout)
    assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


async def _artifact_keys(flow_run_name: str) -> set[str]:
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, FlowRunFilter, FlowRunFilterName

    async with get_client() as client:
        runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[flow_run_name])))
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[runs[0].id])))
        return {a.key for a in artifacts if a.key}


def test_deployment_run_completes_through_a_worker(prefect_server: str, tiny_model_dir: Path, mini_sts_dir: Path,
                                                   tmp_path: Path) -> None:
    import asyncio

    prefect("work-pool", "create", "local", "--type", "process", "--overwrite")
    prefect("--no-prompt", "deploy", "--all")
    worker_env = {**os.environ, "PREFECT_WORKER_QUERY_SECONDS": "2", "STS_DATA_DIR": str(mini_sts_dir)}
    worker_log = tmp_path.parent / f"{tmp_path.name}-worker.log"  # the flow run's own output: why it failed, if it did
    with worker_log.open("w") as log:
        worker = subprocess.Popen([str(Path(sys.executable).parent / "prefect"), "worker", "start", "--pool", "local"],
                                  cwd=REPO_ROOT, env=worker_env, stdout=log, stderr=subprocess.STDOUT)
    try:
        settings = {"model": str(tiny_model_dir), "labellers": "", "onnx_export": False,
                    "max_pairs": 32, "max_steps": 2, "bi_batch_size": 16,
                    "cross_batch_size": 16, "device": "cpu"}
        params = json.dumps({"preset": "cpu", "settings": settings, "out": str(tmp_path)})
        try:
            run = prefect("deployment", "run", "full-cycle/cpu", "--params", params, "--watch", timeout=600)
        except AssertionError as failed:
            raise AssertionError(f"{failed}\nthe worker's output:\n{worker_log.read_text()[-4000:]}") from None
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:  # a slow shutdown on a loaded machine is not what this test checks
            worker.kill()
            worker.wait()
    assert "Completed" in run.stdout, run.stdout[-2000:]
    manifest = json.loads(next(tmp_path.glob("cpu-*/manifest.json")).read_text())
    assert set(manifest["exports"]) == {"bi", "cross"}
    name = next(line.split("'")[1] for line in run.stdout.splitlines() if "Created flow run" in line)
    assert {"sts-scores", "run-summary"} <= asyncio.run(_artifact_keys(name))
