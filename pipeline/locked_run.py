"""The one way every runner (the plain executor, the Prefect tasks, Ray workers) gets a stage's output: under the
output's lock in the store (artifacts/lock.py), take it from the store when it verifies, else run the stage (saying
so in one line when what is stored did not verify: its bytes changed, or it was never sealed).

Taking the verdict under the lock is what lets two runs share one `--out`: the second to reach a shared stage
waits for the first, then finds its output sealed and reports it as cached, so each output is computed once and
two runs never write it at once. A run killed while it holds the lock releases it with its death.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

from artifacts.lock import output_lock
from artifacts.store import Store
from models.progress import ProgressFn
from models.stop import check_stop
from pipeline.stage import Stage, StageContext, StageResult


def stored_or_run(stage: Stage, context: StageContext, title: str,
                  progress: Callable[[str], ProgressFn] | None = None) -> tuple[StageResult, bool]:
    """The stage's output and whether this call ran it (False: it was stored, perhaps by another run just now).
    `progress` makes the run's progress callback from the title, only once the stage is sure to run (the Prefect
    UI's bar is then shown for the stages that run, not for the cached ones)."""
    def say_who_holds_it(holder: str) -> None:
        print(f"{title}: waiting for {holder}, which is computing the same output ({context.target.name})",
              flush=True)

    with output_lock(context.target, on_wait=say_who_holds_it, between_tries=check_stop):
        stored = stage.stored(context.target)
        if stored is not None:
            return stored, False
        damage = Store.unusable(context.target)  # something is there, yet it did not verify: say so before redoing it
        if damage:
            print(f"{title}: its stored output {context.target} {damage}; running it again", flush=True)
        return stage.execute(replace(context, progress=progress(title)) if progress else context), True
