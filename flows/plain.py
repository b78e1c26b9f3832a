"""The whole Trans-Encoder run in one plain Python process, for a bare GPU box without Prefect.

`python -m flows.plain --preset cpu` runs the same cycle (pipeline/plan.py) and the same stages
(pipeline/stages/) as `python -m flows.full_cycle`, against the same content-addressed store, so
a rerun skips finished stages here too. It writes the run folder (manifest, summary, exports).
"""
from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any, Sequence

from models.config import PipelineConfig
from models.data import with_evaluation
from models.reporting.report import text_table
from pipeline.cli import parse_config
from pipeline.executor import StoreExecutor
from pipeline.preflight import preflight, resume_hint
from pipeline.run import plan_run, plan_table, run_name_of, run_pipeline
from pipeline.stopping import stop_on_signals


def run_plain(preset: str, config: PipelineConfig, out: Path, command: str = "") -> dict[str, Any]:
    """Run every stage in this process; returns the run folder, scores, best cycles and exports."""
    outcome = run_pipeline(preset, config, out, command or f"flows.plain preset={preset}", StoreExecutor)
    return {"run_dir": str(outcome.run_dir), "scores": outcome.result.scores,
            "best_cycle": outcome.result.best_cycle, "exports": outcome.manifest.exports}


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> None:
    config, args = parse_config(argv, __doc__.splitlines()[0], prog=prog)
    config = with_evaluation(config)
    preflight(config, Path(args.out), args.debug)
    if args.plan:
        print(plan_table(plan_run(args.preset, config, Path(args.out))))
        return
    command = shlex.join([sys.executable, "-m", "flows.plain", *(argv if argv is not None else sys.argv[1:])])
    run_dir = Path(args.out) / run_name_of(args.preset, config)
    with resume_hint(run_dir, args.debug), stop_on_signals(run_dir / "manifest.json", command):
        outcome = run_plain(args.preset, config, Path(args.out), command)
    print(text_table(list(outcome["scores"].items())))
    print(f"best cycle per export: {outcome['best_cycle']}; exports: {outcome['exports']}")


if __name__ == "__main__":
    main()
