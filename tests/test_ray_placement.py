"""What each stage task asks Ray for, on a real local Ray cluster that declares 4 CPUs and 2 (fake) GPUs: a stage that
runs a model gets a GPU and its share of the cores, and torch computes on that many threads; the others get one
CPU and no GPU."""
from __future__ import annotations

import os
from typing import Iterator

import pytest
import torch

from flows.engine import placement, stage_resources, use_assigned_cpus
from pipeline.registry import STAGES
from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.ray]

CPUS, GPUS = 4, 2
# the stages that load a model (each module's `run` builds an encoder): tied here to their declared kinds
RUN_MODELS = {"warmup", "cross", "bi", "bi-labels", "cross-labels", "corpus-embeddings", "scores", "retrieval-scores"}


@pytest.fixture(scope="module")
def gpu_cluster() -> Iterator[None]:
    """A local Ray cluster with fake GPUs (Ray only counts them), its workers importing this repository."""
    ray = pytest.importorskip("ray")
    python_path = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    ray.init(num_cpus=CPUS, num_gpus=GPUS, include_dashboard=False,
             runtime_env={"env_vars": {"PYTHONPATH": python_path}})
    try:
        yield
    finally:
        ray.shutdown()


def _threads_in_a_task() -> tuple[int, dict[str, float]]:
    """What a stage task does first (tasks/stage_tasks.py), then what torch and Ray say inside the task."""
    import ray

    use_assigned_cpus()
    return torch.get_num_threads(), ray.get_runtime_context().get_assigned_resources()


def test_model_stages_ask_for_a_gpu_and_the_nodes_cores_and_data_and_combining_stages_for_one_core(
        gpu_cluster: None) -> None:
    assert {name for name, stage in STAGES.items() if stage.kind.runs_model} == RUN_MODELS
    for name in STAGES:
        expected = {"num_cpus": CPUS, "num_gpus": 1} if name in RUN_MODELS else {"num_cpus": 1}
        assert stage_resources(name, model_stages=1) == expected, name
    assert stage_resources("cross", model_stages=2) == {"num_cpus": 2, "num_gpus": 1}, "two members share the cores"
    assert stage_resources("bi-labels", model_stages=6) == {"num_cpus": 1, "num_gpus": 1}, "at least one each"

    from prefect_ray.context import RemoteOptionsContext

    with placement("ray", "scores", 2):
        assert RemoteOptionsContext.get().current_remote_options == {"num_cpus": 2, "num_gpus": 1}
    with placement("local", "scores", 2):
        assert RemoteOptionsContext.get().current_remote_options == {}


def test_a_stage_task_computes_on_as_many_threads_as_the_cores_it_asked_for(gpu_cluster: None) -> None:
    import ray

    probe = ray.remote(_threads_in_a_task)
    for stage, model_stages in (("cross", 1), ("bi-labels", 2), ("average-labels", 2), ("cross", 1)):
        asked = stage_resources(stage, model_stages)
        threads, assigned = ray.get(probe.options(**asked).remote())
        assert threads == asked["num_cpus"], (stage, asked, threads)
        assert assigned == {"CPU": asked["num_cpus"], **({"GPU": 1.0} if "num_gpus" in asked else {})}, stage
    before = torch.get_num_threads()
    use_assigned_cpus()
    assert torch.get_num_threads() == before, "the driver (not a Ray task) keeps its threads"
