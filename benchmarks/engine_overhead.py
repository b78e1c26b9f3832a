"""The same run on the local engine and on Ray, side by side: each stage's seconds, and what the engine adds.

    python -m benchmarks.engine_overhead            # writes benchmarks/ENGINE.md (~15 min on 2 cores)

Both runs start cold (fresh store, embedding cache off), one after the other, with the same flags; a stage's
seconds are measured where it ran (in a Ray worker on Ray), the wall time around the whole command. The
engine's start-up is measured alone: a flow of one no-op task, each engine in a fresh process, alternating.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from prefect import flow, task

from artifacts.manifest import read_manifest
from benchmarks.provenance import provenance
from flows.engine import task_runner
from flows.server import scoped_api
from pipeline.cli import ENGINES

REPO = Path(__file__).resolve().parent.parent
FLAGS = ("--pool", "stsb", "--max-pairs", "1000", "--labellers", "", "--warmup", "none", "--cycles", "1",
         "--max-steps", "10", "--eval", "sts")


def timed_run(engine: str, out: Path, flags: Sequence[str]) -> tuple[float, dict[str, Any]]:
    """Wall seconds of one command and its manifest."""
    env = os.environ | {"TE_EMBEDDING_CACHE": "off"}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "flows.full_cycle", *flags, "--engine", engine, "--out", str(out)],
                   cwd=REPO, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - started
    return wall, read_manifest(next(out.glob("*/manifest.json")))


@task
def _no_op() -> int:
    return os.getpid()


@flow
def _one_task_flow() -> int:
    return _no_op.submit().result()


def _run_one_task(engine: str) -> None:
    """In this process: the one-task flow on `engine` (a local Ray cluster started and stopped for it)."""
    with scoped_api():
        started = time.perf_counter()
        _one_task_flow.with_options(task_runner=task_runner(engine))()
        print(json.dumps({"flow_seconds": time.perf_counter() - started}))


def startup_seconds(engine: str) -> dict[str, float]:
    """The one-task flow in a fresh process: the whole command's seconds and the flow's own."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "benchmarks.engine_overhead", "--one-task", engine], cwd=REPO,
                          check=True, capture_output=True, text=True)
    flow_seconds = json.loads(done.stdout.strip().splitlines()[-1])["flow_seconds"]
    return {"command": time.perf_counter() - started, "flow": flow_seconds}


def startup_table(rounds: int) -> str:
    """Median seconds of the one-task flow per engine over `rounds` alternating pairs, and Ray's extra."""
    samples: dict[str, list[dict[str, float]]] = {"local": [], "ray": []}
    for _ in range(rounds):
        for engine in samples:
            samples[engine].append(startup_seconds(engine))
    median = {engine: {part: statistics.median(s[part] for s in runs) for part in ("command", "flow")}
              for engine, runs in samples.items()}
    return "\n".join([
        "| one no-op task | local s | ray s | ray's extra s |",
        "|---|---|---|---|",
        *(f"| {label} | {median['local'][part]:.1f} | {median['ray'][part]:.1f} | "
          f"{median['ray'][part] - median['local'][part]:.1f} |"
          for label, part in (("the flow call (engine start, task, engine stop)", "flow"),
                              ("the whole command (imports, Prefect server)", "command"))),
    ])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "ENGINE.md")
    parser.add_argument("--startup-rounds", type=int, default=3, help="alternating pairs of the one-task flow")
    parser.add_argument("--one-task", choices=ENGINES, help=argparse.SUPPRESS)  # the measured child process
    args, extra = parser.parse_known_args(argv)
    if args.one_task:
        _run_one_task(args.one_task)
        return
    startup = startup_table(args.startup_rounds)
    flags = [*FLAGS, *extra]
    with tempfile.TemporaryDirectory() as temp:
        runs = {engine: timed_run(engine, Path(temp) / engine, flags) for engine in ("local", "ray")}
    (local_wall, local), (ray_wall, ray) = runs["local"], runs["ray"]
    rows = [f"| {a['stage']} | {a.get('member') or '-'} | {a['seconds']:.1f} | {b['seconds']:.1f} | {b['worker']} |"
            for a, b in zip(local["entries"], ray["entries"])]
    local_stages, ray_stages = (sum(e["seconds"] for e in m["entries"]) for m in (local, ray))
    args.out.write_text(f"""# The local engine against Ray on one machine

{provenance("benchmarks.engine_overhead", argv)}: `python -m flows.full_cycle {' '.join(flags)}` with
`--engine local`, then `--engine ray` (a local Ray cluster started and stopped by the command), each cold.

| stage | member | local s | ray s | ray worker |
|---|---|---|---|---|
""" + "\n".join(rows) + f"""

| | local | ray |
|---|---|---|
| sum of stage seconds | {local_stages:.1f} | {ray_stages:.1f} |
| command wall seconds | {local_wall:.1f} | {ray_wall:.1f} |

The engine's start-up alone: a flow of one no-op task, median of {args.startup_rounds} alternating runs per engine,
each a fresh process.

{startup}
""")
    print(args.out.read_text())


if __name__ == "__main__":
    main()
