"""The stages as Prefect tasks: one cached, persisted task per declared stage (pipeline/registry.py).

Caching: the store alone says what is cached. The executor hands every task its content-addressed `target`
path (pipeline/keys.py); a task whose output is stored and verifies returns it in a `Cached` state without
running, anything else runs the stage; both under the output's lock (pipeline/locked_run.py), so runs sharing a
store compute it once. Prefect's own cache is never read (`refresh_cache`): deleting
`<out>/.prefect-results` or the Prefect database reruns nothing, and a damaged output is never taken from a
Prefect record. Results are still persisted there, under the target's address, for the UI.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import Task, task
from prefect.context import TaskRunContext
from prefect.states import Completed, State

from flows.engine import use_assigned_cpus
from pipeline.locked_run import stored_or_run
from pipeline.registry import STAGES
from pipeline.stage import StageContext, StageResult
from tasks.progress import ui_progress


def target_cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    """The content address of the task's output artifact (see pipeline/keys.py)."""
    path = Path(parameters["context"].target)
    return f"{path.parent.name}-{path.name}"


def _stage(stage: str, context: StageContext, title: str) -> StageResult | State:
    use_assigned_cpus()
    result, ran = stored_or_run(STAGES[stage], context, title, ui_progress)
    return result if ran else Completed(name="Cached", data=result)


STAGE_TASKS: dict[str, Task[..., StageResult]] = {
    name: task(_stage, name=name, task_run_name="{title}", cache_key_fn=target_cache_key, refresh_cache=True,
               persist_result=True)
    for name in STAGES
}
