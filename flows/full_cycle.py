"""Trans-Encoder as a Prefect flow: warm-up, then K cycles of bi -> cross -> bi, every stage cached.

Run `python -m flows.full_cycle --help` for every setting, `--plan` to see every stage's key and
whether it is cached without running any. Rerunning the same command after a crash redoes only the
unfinished stages; finished ones are reported as cached.
"""
from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any, Sequence

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.exceptions import TerminationSignal

from artifacts.manifest import RunManifest
from artifacts.store import Artifact, Store
from flows.engine import check_shared_store, placement, task_runner
from flows.server import scoped_api
from models.config import PipelineConfig
from models.data import DataError, with_evaluation
from models.reporting.report import table_records, text_table
from models.stop import check_stop, request_stop
from pipeline.cli import parse_config
from pipeline.executor import PlannedStage, RunInputs, StoreExecutor
from pipeline.parameters import EngineName, PresetName, RunSettings, overrides
from pipeline.plan import StageCall, StageOutput
from pipeline.preflight import preflight, resume_hint
from pipeline.presets import preset as make_preset
from pipeline.registry import STAGES
from pipeline.run import plan_run, plan_table, run_name_of, run_pipeline
from pipeline.stopping import stop_on_signals
from tasks.stage_tasks import STAGE_TASKS

RESULTS_DIR = ".prefect-results"


class PrefectExecutor(StoreExecutor):
    """Runs each batch of independent calls as Prefect tasks submitted together, cached by content address."""

    def __init__(self, *args: Any, engine: str = "local", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.engine = engine
        self.logger = get_run_logger()

    def run(self, calls: Sequence[StageCall[Artifact]]) -> list[StageOutput[Artifact]]:
        submitted = []
        model_stages = sum(STAGES[call.stage].kind.runs_model for call in calls)  # they share a node's cores
        for call in calls:
            check_stop()  # a stop asked for between stages submits no other
            parts, target = self.locate(call)
            self.log(f"starting {call.title}")
            bound = STAGE_TASKS[call.stage].with_options(result_storage=self.store.root / RESULTS_DIR)
            with placement(self.engine, call.stage, model_stages):
                submitted.append((parts, bound.submit(stage=call.stage, context=self.context(call, target),
                                                      title=call.title)))
        outputs = []
        for call, (parts, future) in zip(calls, submitted):
            try:
                result = future.result()  # raises the stage's own error when it failed
            except TerminationSignal as termination:  # Prefect's SIGTERM handler raises it here, in this thread:
                request_stop(termination.signal)  # the task thread stops at its next step, so the flow can end
                raise
            outputs.append(self.record(call, parts, result, "cached" if future.state.name == "Cached" else "ran"))
        return outputs

    def log(self, message: str) -> None:
        self.logger.info(message)


# One branch at a time by default: two trainings on the same cores gain nothing, and torch's global RNG
# is shared by threads. On Ray (`--engine ray`) the branches of a mutual run run at once.
@flow(name="full-cycle", log_prints=True, task_runner=task_runner("local"))
def full_cycle(preset: PresetName = "cpu", settings: RunSettings | None = None, out: str = "runs",  # type: ignore[valid-type]
               command: str = "", engine: EngineName = "local") -> dict[str, Any]:  # type: ignore[valid-type]
    """Warm-up, K Trans-Encoder cycles over every member, evaluation, best-cycle exports, summary artifacts.

    `settings` changes the preset's: each field left out keeps the preset's value."""
    config = make_preset(preset, **overrides(settings))
    if engine == "ray":
        check_shared_store(Path(out))

    def executor(config: PipelineConfig, store: Store, manifest: RunManifest, path: Path,
                 inputs: RunInputs) -> StoreExecutor:
        return PrefectExecutor(config, store, manifest, path, inputs, engine=engine)

    command = command or f"flow full-cycle preset={preset} settings={overrides(settings)}"
    outcome = run_pipeline(preset, config, Path(out), command, executor, _publish_plan)
    _publish(outcome.manifest, outcome.summary)
    return {"run_dir": str(outcome.run_dir), "scores": outcome.result.scores,
            "best_cycle": outcome.result.best_cycle, "exports": outcome.manifest.exports,
            "stages": [(e.stage, e.cycle, e.status, e.seconds) for e in outcome.manifest.entries]}


def _publish_plan(stages: list[PlannedStage]) -> None:
    """The plan is the first thing the run shows in the UI: every stage's key, cached or will run and why."""
    create_markdown_artifact(plan_table(stages, markdown=True), key="run-plan",
                             description="every stage of the run, before it starts")
    print(plan_table(stages))


def _publish(manifest: RunManifest, summary: str) -> None:
    """The score table and the summary as Prefect artifacts, and the table on the terminal."""
    rows = list(manifest.scores.items())
    create_table_artifact(table_records(rows), key="sts-scores",
                          description=f"Spearman x100 per cycle (and search x100 with --dev-retrieval), "
                                      f"{manifest.run_name}")
    create_markdown_artifact(summary, key="run-summary", description=manifest.run_name)
    print(text_table(rows))
    print(summary.split("\n\n")[1])


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> None:
    config, args = parse_config(argv, __doc__.splitlines()[0], engine=True, prog=prog)  # the flow rebuilds it
    config = with_evaluation(config)
    preflight(config, Path(args.out), args.debug)
    if args.plan:
        print(plan_table(plan_run(args.preset, config, Path(args.out))))
        return
    try:
        runner = task_runner(args.engine, args.ray_address)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    command = shlex.join([sys.executable, "-m", "flows.full_cycle", *(argv if argv is not None else sys.argv[1:])])
    run_dir = Path(args.out) / run_name_of(args.preset, config)
    # the stop line comes after the temporary server has stopped: it is the command's last line
    with resume_hint(run_dir, args.debug), stop_on_signals(run_dir / "manifest.json", command), scoped_api():
        full_cycle.with_options(task_runner=runner)(preset=args.preset, settings=args.settings,
                                                    out=args.out, command=command, engine=args.engine)


if __name__ == "__main__":
    main()
