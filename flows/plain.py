"""The whole Trans-Encoder run in one plain Python process, for a bare GPU box without Prefect.

`python -m flows.plain --preset cpu` runs the same cycle (models/cycle.py) and the same stages
(tasks/stage_io.py) as `python -m flows.full_cycle`, against the same content-addressed store, so
a rerun skips finished stages here too. It writes the run folder (manifest, summary, exports).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

from flows.runner import StoreExecutor, finish_run, open_run, preflight, resume_hint, run_name_of
from models.cli import parse_config
from models.config import PipelineConfig
from models.cycle import run_cycles
from models.data import with_evaluation
from models.reporting.report import text_table


def run_plain(preset: str, config: PipelineConfig, out: Path, command: str = "") -> dict[str, Any]:
    """Run every stage in this process; returns the run folder, scores, best cycles and exports."""
    started = time.perf_counter()
    config = with_evaluation(config)
    store, run_dir, manifest = open_run(preset, config, out, command or f"flows.plain preset={preset}")
    result = run_cycles(config, StoreExecutor(config, store, manifest, run_dir / "manifest.json"))
    finish_run(config, result, manifest, run_dir, started)
    return {"run_dir": str(run_dir), "scores": result.scores, "best_cycle": result.best_cycle,
            "exports": manifest.exports}


def main(argv: Sequence[str] | None = None) -> None:
    config, args = parse_config(argv, __doc__.splitlines()[0])
    config = with_evaluation(config)
    preflight(config, Path(args.out), args.debug)
    with resume_hint(Path(args.out) / run_name_of(args.preset, config), args.debug):
        outcome = run_plain(args.preset, config, Path(args.out))
    print(text_table(list(outcome["scores"].items())))
    print(f"best cycle per export: {outcome['best_cycle']}; exports: {outcome['exports']}")


if __name__ == "__main__":
    main()
