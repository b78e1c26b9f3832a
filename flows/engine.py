"""Where the flow's stage tasks run: threads of this process (`local`) or a Ray cluster (`ray`, via prefect-ray).

On Ray each stage task runs in a worker process, on whichever node has room; the tasks that a batch submits
together (one per member in a mutual run) run at the same time. Workers read and write the same store as the
driver, so on a multi-node cluster `--out` must be a path every node mounts (NFS, a mounted bucket):
`check_shared_store` proves it before any stage runs.
"""
from __future__ import annotations

import contextlib
import os
import socket
import sys
import uuid
from pathlib import Path
from typing import Any, ContextManager

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from artifacts.store import StoreUnreachable
from models.data import DataError
from pipeline.registry import STAGES

REPO = Path(__file__).resolve().parent.parent


def task_runner(engine: str, ray_address: str | None = None) -> TaskRunner[Any]:
    """`local`: one task at a time in this process (two trainings on the same cores gain nothing). `ray`: the
    cluster at `ray_address`, else a local one started now and stopped with the flow."""
    if engine == "local":
        if ray_address:
            raise DataError("--ray-address attaches to a Ray cluster; add --engine ray")
        return ThreadPoolTaskRunner(max_workers=1)
    try:
        from prefect_ray import RayTaskRunner
    except ImportError:
        raise DataError("--engine ray needs Ray and prefect-ray: pip install -c requirements.lock -e '.[ray]' "
                        "(make setup installs them)") from None
    python_path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    init = {"runtime_env": {"env_vars": {"PYTHONPATH": python_path}}, "include_dashboard": False}
    return RayTaskRunner(address=ray_address, init_kwargs=init)


def placement(engine: str, stage: str, model_stages: int) -> ContextManager[Any]:
    """The Ray resources of one stage task submitted beside `model_stages` model-running ones (itself included)."""
    if engine != "ray":
        return contextlib.nullcontext()
    from prefect_ray.context import remote_options

    return remote_options(**stage_resources(stage, model_stages))


def stage_resources(stage: str, model_stages: int) -> dict[str, int]:
    """What a stage task asks Ray for. A model-running stage: a whole GPU when the cluster has GPUs, and its share of
    a node's CPUs (a GPU node's, on a GPU cluster: more would fit no node) among the `model_stages` submitted
    together; a lone stage gets them all (Ray's default of one CPU left a lone stage at 0.59-0.75x its local speed,
    benchmarks/ENGINE.md). Any other stage: one CPU."""
    if not STAGES[stage].kind.runs_model:
        return {"num_cpus": 1}
    import ray

    nodes = [node["Resources"] for node in ray.nodes() if node["Alive"]]
    gpu_nodes = [node for node in nodes if node.get("GPU", 0) >= 1]
    node_cpus = max(int(node.get("CPU", 1)) for node in gpu_nodes or nodes)
    return {"num_cpus": max(1, node_cpus // max(1, model_stages))} | ({"num_gpus": 1} if gpu_nodes else {})


def use_assigned_cpus() -> None:
    """In a Ray task, torch computes on as many threads as the CPUs the task was given: a worker process is reused
    across tasks, so its thread count is otherwise whatever it started with. Elsewhere (the local engine), nothing."""
    ray = sys.modules.get("ray")  # never imported by a local run
    if ray is None or not ray.is_initialized() or ray.get_runtime_context().get_task_id() is None:
        return
    import torch

    torch.set_num_threads(max(1, int(ray.get_runtime_context().get_assigned_resources().get("CPU", 1))))


@task(name="store-visible", persist_result=False, cache_policy=NO_CACHE)
def _token_seen_by_worker(path: str) -> tuple[str, str | None]:
    token = Path(path)
    return socket.gethostname(), token.read_text() if token.is_file() else None


def check_shared_store(store_root: Path) -> None:
    """Fail with one line when a worker cannot read what the driver wrote under `store_root`."""
    store_root.mkdir(parents=True, exist_ok=True)
    token_file = store_root / f".engine-check-{uuid.uuid4().hex}"
    token_file.write_text(token_file.name)
    try:
        host, seen = _token_seen_by_worker.submit(str(token_file.resolve())).result()
    finally:
        token_file.unlink(missing_ok=True)
    if seen != token_file.name:
        raise StoreUnreachable(f"a Ray worker on {host} cannot see the store {store_root.resolve()}: on a multi-node "
                               "cluster --out must be a path every node mounts (NFS, a mounted bucket)")
