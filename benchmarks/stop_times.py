"""How long a stop takes: SIGINT and SIGTERM sent to real runs (plain and Prefect, the tiny test model) in the middle
of a training and of a labelling stage, timed from the signal to the command's exit (issue 33 bounds it at 10 s).

    python -m benchmarks.stop_times [--runner plain|full_cycle] [--repeat N]

The same harness as tests/test_stop_signals.py (tests/child_runs.py); the Prefect runs start their own temporary
server, so their time includes stopping it. Needs the STS folder ($STS_DATA_DIR) for the pool's sentences.
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import tempfile
from pathlib import Path

from tests.child_runs import STOP_POOL_PAIRS, STOPPED_STAGES, child_env, stop_mid_stage, stop_test_command
from tests.test_pipeline import own_pairs
from tests.tiny_model import build_tiny_bert

RUNNERS = {"plain": "flows.plain", "full_cycle": "flows.full_cycle"}


def measure(runner: str, signal_number: int, stage_kind: str, model: Path, pool: Path, root: Path) -> float:
    """One stop's seconds (a fresh output folder, so the stage really runs); its exit code is checked."""
    out = Path(tempfile.mkdtemp(dir=root))
    env = {k: v for k, v in child_env(PREFECT_HOME=str(out / "prefect-home")).items() if k != "PREFECT_API_URL"}
    run = stop_mid_stage(stop_test_command(RUNNERS[runner], model, pool, out / "runs"), env, stage_kind,
                         signal_number)
    if run.returncode != 128 + signal_number:
        raise RuntimeError(f"{runner} exited with {run.returncode} on {signal_number}: {''.join(run.output[-20:])}")
    return run.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runner", choices=sorted(RUNNERS), action="append", help="default: both")
    parser.add_argument("--repeat", type=int, default=1, help="stops per cell (the table shows the median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        model = build_tiny_bert(root / "tiny-bert")
        pool = own_pairs(root, Path(os.environ.get("STS_DATA_DIR", "../shared/data/sts")), STOP_POOL_PAIRS, False)
        print("| runner | signal | stage in progress | seconds to exit (median) | runs |")
        print("|---|---|---|---|---|")
        for runner in args.runner or sorted(RUNNERS):
            for signal_number in (signal.SIGINT, signal.SIGTERM):
                for stage_kind, (stage, _) in STOPPED_STAGES.items():
                    seconds = [measure(runner, signal_number, stage_kind, model, pool, root)
                               for _ in range(args.repeat)]
                    print(f"| {runner} | {signal.Signals(signal_number).name} | {stage_kind} ({stage}) | "
                          f"{statistics.median(seconds):.2f} | {', '.join(f'{s:.2f}' for s in seconds)} |", flush=True)


if __name__ == "__main__":
    main()
