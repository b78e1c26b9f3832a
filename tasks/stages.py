"""The stages as Prefect tasks: one cached, persisted task per stage, each a thin wrapper of `run_stage`.

Caching: the executor hands every task its content-addressed `target` path (tasks/keys.py) and the
Prefect cache key is that address. When the stored artifact is missing or no longer matches its
digest, the task is called with `refresh_cache=True`, so the stage runs again and rewrites it.
Results persist in `<out>/.prefect-results`, so a rerun hits the cache even with a fresh database.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import Task, task
from prefect.context import TaskRunContext

from artifacts.store import Artifact
from models.config import PipelineConfig
from tasks.progress import ui_progress
from tasks.stage_io import STAGES, StageResult, run_stage


def target_cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    """The content address of the task's output artifact (see tasks/keys.py)."""
    path = Path(parameters["target"])
    return f"{path.parent.name}-{path.name}"


def _stage(stage: str, config: PipelineConfig, inputs: dict[str, Artifact], params: dict[str, Any],
           cycle: int | None, target: str, title: str) -> StageResult:
    return run_stage(stage, config, inputs, params, cycle, Path(target), ui_progress(title))


STAGE_TASKS: dict[str, Task[..., StageResult]] = {
    name: task(_stage, name=name, task_run_name="{title}", cache_key_fn=target_cache_key, persist_result=True)
    for name in STAGES
}
