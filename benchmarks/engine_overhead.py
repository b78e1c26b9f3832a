"""The same run on the local engine and on Ray, side by side: each stage's seconds, and what the engine adds.

    python -m benchmarks.engine_overhead            # writes benchmarks/ENGINE.md (~10 min on 2 cores)

Both runs start cold (fresh store, embedding cache off), one after the other, with the same flags; a stage's
seconds are measured where it ran (in a Ray worker on Ray), the wall time around the whole command.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from benchmarks.provenance import provenance

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
    return wall, json.loads(next(out.glob("*/manifest.json")).read_text())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "ENGINE.md")
    args, extra = parser.parse_known_args(argv)
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
""")
    print(args.out.read_text())


if __name__ == "__main__":
    main()
