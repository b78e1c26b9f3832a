"""One run, start to finish, the same under Prefect and without it: open the run folder, plan, run the cycle
through an executor, choose the best cycles, export and summarise."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from artifacts.hashing import value_digest
from artifacts.manifest import RunManifest, read_manifest
from artifacts.store import Artifact, Store
from models.config import PipelineConfig
from models.data import with_evaluation
from pipeline.executor import PlannedStage, Planner, RunInputs, StoreExecutor
from pipeline.plan import CycleResult, best_cycles, run_cycles
from pipeline.preflight import input_notes
from pipeline.summary import finish_run

MakeExecutor = Callable[[PipelineConfig, Store, RunManifest, Path, RunInputs], StoreExecutor]


def settings_digest(config: PipelineConfig) -> str:
    """The run's settings, its folder's name aside."""
    return value_digest(config.replace(run_name=None).to_dict())[:10]


def run_name_of(preset: str, config: PipelineConfig) -> str:
    """`--run-name`, else the preset and the settings' digest: deterministic, so the same command resumes the same
    run folder."""
    return config.run_name or f"{preset}-{settings_digest(config)}"


def open_run(preset: str, config: PipelineConfig, out: Path, command: str) -> tuple[Store, Path, RunManifest]:
    """The store under `out`, this run's folder (named by its settings) and its new manifest."""
    store = Store(out)
    run_dir = store.root / run_name_of(preset, config)
    return store, run_dir, RunManifest(run_dir.name, config.to_dict(), command, notes=list(input_notes(config)),
                                       settings_digest=settings_digest(config))


def plan_run(preset: str, config: PipelineConfig, out: Path, inputs: RunInputs | None = None) -> list[PlannedStage]:
    """Every stage call of the run with its key, and whether it is stored or will run (and why), running none.
    Like `run_pipeline`, it resolves the run's --eval itself."""
    config, store = with_evaluation(config), Store(out)
    planner = Planner(config, store, earlier_outputs(store.root, preset, config), inputs)
    run_cycles(config, planner)
    return planner.stages


def earlier_outputs(root: Path, preset: str, config: PipelineConfig) -> dict[str, str]:
    """Call title -> output path in the run this plan is compared with: this run folder's last run, else the
    latest run of the same preset under `root` (so a changed setting is named as the reason)."""
    own = root / run_name_of(preset, config) / "manifest.json"
    others = sorted(root.glob(f"{preset}-*/manifest.json"), key=lambda path: path.stat().st_mtime)
    chosen = own if own.is_file() else others[-1] if others else None
    if chosen is None:
        return {}
    return {entry["title"]: entry["path"] for entry in read_manifest(chosen)["entries"] if entry.get("title")}


def plan_table(stages: list[PlannedStage], markdown: bool = False) -> str:
    """The plan as a table (markdown for the Prefect UI), with a count of what will run."""
    will_run = sum(stage.status != "cached" for stage in stages)
    head = f"{len(stages)} stages: {len(stages) - will_run} cached, {will_run} will run"
    rows = [(stage.title, stage.key, stage.status + (f": {stage.reason}" if stage.reason else ""))
            for stage in stages]
    if markdown:
        return "\n".join([f"**Plan**: {head}", "", "| stage | key | status |", "|---|---|---|",
                          *(f"| {title} | `{key}` | {status} |" for title, key, status in rows)])
    width = max(len(title) for title, _, _ in rows)
    return "\n".join([f"plan: {head}", *(f"  {title:<{width}}  {key}  {status}" for title, key, status in rows)])


@dataclass
class RunOutcome:
    run_dir: Path
    result: CycleResult[Artifact]
    manifest: RunManifest
    summary: str


def run_pipeline(preset: str, config: PipelineConfig, out: Path, command: str, make_executor: MakeExecutor,
                 show_plan: Callable[[list[PlannedStage]], None] | None = None) -> RunOutcome:
    """Plan (shown first when asked), run every stage through the executor, pick the best cycles, export."""
    started, config = time.perf_counter(), with_evaluation(config)
    store, run_dir, manifest = open_run(preset, config, out, command)
    inputs = RunInputs(config)  # the data folder and start models are digested once, for the plan and the run
    if show_plan is not None:
        show_plan(plan_run(preset, config, out, inputs))
    result = run_cycles(config, make_executor(config, store, manifest, run_dir / "manifest.json", inputs))
    result.best_cycle = best_cycles(config, result)
    summary = finish_run(config, result, manifest, run_dir, started)
    return RunOutcome(run_dir, result, manifest, summary)
