"""The stages as Prefect tasks: one cached, persisted task per declared stage (pipeline/registry.py).

Caching: the executor hands every task its content-addressed `target` path (pipeline/keys.py) and the
Prefect cache key is that address. When the stored artifact is missing or no longer matches its
digest, the task is called with `refresh_cache=True`, so the stage runs again and rewrites it.
Results persist in `<out>/.prefect-results`, so a rerun hits the cache even with a fresh database.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from prefect import Task, task
from prefect.context import TaskRunContext

from pipeline.registry import STAGES
from pipeline.stage import StageContext, StageResult
from tasks.progress import ui_progress


def target_cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    """The content address of the task's output artifact (see pipeline/keys.py)."""
    path = Path(parameters["context"].target)
    return f"{path.parent.name}-{path.name}"


def _stage(stage: str, context: StageContext, title: str) -> StageResult:
    return STAGES[stage].execute(replace(context, progress=ui_progress(title)))


STAGE_TASKS: dict[str, Task[..., StageResult]] = {
    name: task(_stage, name=name, task_run_name="{title}", cache_key_fn=target_cache_key, persist_result=True)
    for name in STAGES
}
