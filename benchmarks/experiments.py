"""The issue-4 experiments on CPU: a capped sts_sickr run and one-setting-at-a-time ablations.

Every experiment is one `python -m flows.full_cycle` run into the same --out, so stages that two
experiments share (the pool, the start model's scores, cycle 1 of an ablation) run once and are
cached after. Each run leaves its manifest; `benchmarks/results.py` turns them into RESULTS.md.

    python -m benchmarks.experiments --out runs/experiments            # all, in order
    python -m benchmarks.experiments --out runs/experiments --only base symmetric
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

from flows import full_cycle
from models.data import with_evaluation
from pipeline.cli import parse_config

# The ablation base: reference hyperparameters (`paper`) on 3,000 pairs drawn from sts_sickr, no warm-up
# (the start model is already a sentence encoder) and one distillation epoch, to fit 2 CPU cores.
BASE: tuple[str, ...] = ("--preset", "paper", "--max-pairs", "3000", "--warmup", "none", "--bi-epochs", "1")


# Issue 9's base: the issue-4 `cpu` preset's choices (reinit, cross lr 1e-4, 3,000 pairs, 1 cycle) without the
# warm-up, whose 6 minutes go to the frozen labeller and longer distillation instead.
TEACHER: tuple[str, ...] = ("--preset", "paper", "--max-pairs", "3000", "--cycles", "1", "--reinit",
                            "--cross-lr", "1e-4", "--warmup", "none", "--bi-epochs", "2")
MPNET: tuple[str, ...] = ("--labellers", "mpnet-base")
# The `cpu` preset until issue 9's 12k runs: labeller-both on 6,000 pairs (the warm-up rows below start from it).
CPU_6K: tuple[str, ...] = (*TEACHER, *MPNET, "--labellers-join", "both", "--max-pairs", "6000")
# The `cpu` preset before cpu-cosent made CoSENT its distillation loss: each row run then distilled with MSE.
CPU_MSE: tuple[str, ...] = ("--preset", "cpu", "--bi-loss", "mse")
# The `cpu` preset from cpu-12k until cpu-long-b8: cross-encoder batches of 16, sentences cut at 32 tokens, pairs at 64.
CPU_B16: tuple[str, ...] = (*CPU_MSE, "--cross-batch-size", "16")
SHORT: tuple[str, ...] = ("--bi-max-length", "32", "--cross-max-length", "64")


@dataclass(frozen=True)
class Experiment:
    name: str
    ablation: str  # which question the row answers
    flags: tuple[str, ...]


EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment("base", "reference settings, 1 cycle", (*BASE, "--cycles", "1")),
    Experiment("reinit", "reinit on (2 cycles)", (*BASE, "--cycles", "2", "--reinit")),
    Experiment("cross-lr", "cross-encoder lr 1e-4 (reference 2e-5)", (*BASE, "--cycles", "1", "--cross-lr", "1e-4")),
    Experiment("symmetric", "symmetric scoring on", (*BASE, "--cycles", "1", "--symmetric")),
    Experiment("minmax", "label transform minmax", (*BASE, "--cycles", "1", "--label-transform", "minmax")),
    Experiment("mirror", "warm-up mirror", (*BASE, "--cycles", "1", "--warmup", "mirror")),
    Experiment("cycles3", "cycles 1..3", (*BASE, "--cycles", "3")),
    Experiment("clip", "label transform clip", (*BASE, "--cycles", "1", "--label-transform", "clip")),
    Experiment("cpu", "the cpu preset (python -m flows.full_cycle)", ("--preset", "cpu")),
    Experiment("cpu-b16", "the cpu preset before cpu-long-b8 (cross batches of 16, lengths 32 and 64)",
               (*CPU_B16, *SHORT)),
    Experiment("labeller-both", "frozen MPNet labeller in both averages, 2 distil epochs",
               (*TEACHER, *MPNET, "--labellers-join", "both")),
    Experiment("labeller-both-cross3", "labeller-both with 3 cross-encoder epochs (564 steps)",
               (*TEACHER, *MPNET, "--labellers-join", "both", "--cross-epochs", "3")),
    Experiment("labeller-all", "labeller-both, the bi-encoder distilling from every scorer (cross and bi)",
               (*TEACHER, *MPNET, "--labellers-join", "both", "--distil-from", "all")),
    Experiment("labeller-own", "frozen MPNet labeller in the bi->cross average only",
               (*TEACHER, *MPNET, "--labellers-join", "own")),
    Experiment("self-2ep", "no labeller (the teacher base alone)", TEACHER),
    Experiment("labeller-both-6k", "labeller-both on 6,000 pairs", CPU_6K),
    Experiment("labeller-both-6k-cross2", "labeller-both-6k with 2 cross-encoder epochs (750 steps)",
               (*CPU_6K, "--cross-epochs", "2")),
    Experiment("labeller-all-6k", "labeller-both-6k, the bi-encoder distilling from every scorer (cross and bi)",
               (*CPU_6K, "--distil-from", "all")),
    Experiment("cpu-isbert", "labeller-both-6k with the IS-BERT warm-up", (*CPU_6K, "--warmup", "isbert")),
    Experiment("cpu-mirror", "labeller-both-6k with the Mirror-BERT warm-up", (*CPU_6K, "--warmup", "mirror")),
    Experiment("cpu-simcse", "labeller-both-6k with the SimCSE warm-up", (*CPU_6K, "--warmup", "simcse")),
    Experiment("cpu-12k", "labeller-both-6k on 12,000 pairs, one distillation epoch (the same bi steps)",
               (*CPU_6K, "--max-pairs", "12000", "--bi-epochs", "1")),
    Experiment("cpu-symmetric", "cpu-b16, cross -> bi labels averaging both pair orders",
               (*CPU_B16, *SHORT, "--symmetric")),
    Experiment("cpu-long", "cpu-b16 reading longer inputs: bi 64 tokens (labels and distillation), cross 128",
               (*CPU_B16, "--bi-max-length", "64", "--cross-max-length", "128")),
    Experiment("cpu-long-b8", "cpu-long with cross-encoder batches of 8 (3,000 steps)",
               (*CPU_MSE, "--bi-max-length", "64", "--cross-max-length", "128", "--cross-batch-size", "8")),
    Experiment("cpu-long-b4", "cpu-long with cross-encoder batches of 4 (6,000 steps)",
               (*CPU_MSE, "--bi-max-length", "64", "--cross-max-length", "128", "--cross-batch-size", "4")),
    Experiment("cpu-14k", "the cpu preset (cpu-long-b8) on 14,000 pairs (3,500 cross steps)",
               (*CPU_MSE, "--max-pairs", "14000")),
    Experiment("cpu-bi2", "the cpu preset (cpu-long-b8) with 2 distillation epochs (188 bi steps)",
               (*CPU_MSE, "--bi-epochs", "2")),
    Experiment("cpu-lr7e-5",
               "the cpu preset (cpu-long-b8) with cross lr 7e-5 (1e-4 scaled by the square root of the halved batch)",
               (*CPU_MSE, "--cross-lr", "7e-5")),
    Experiment("cpu-lr5e-5", "the cpu preset (cpu-long-b8) with cross lr 5e-5",
               (*CPU_MSE, "--cross-lr", "5e-5")),
    Experiment("cpu-cosent", "the cpu preset (cpu-long-b8) distilling the bi-encoder with CoSENT instead of MSE",
               ("--preset", "cpu", "--bi-loss", "cosent")),
    Experiment("cpu-head-lr", "the cpu preset (cpu-long-b8) with cross lr 5e-5 and 1e-3 for its fresh classifier head",
               ("--preset", "cpu", "--cross-lr", "5e-5", "--cross-head-lr", "1e-3")),
    Experiment("mutual-cpu", "the mutual-cpu preset: MiniLM and MPNet both trained", ("--preset", "mutual-cpu")),
)


def command_of(experiment: Experiment, out: Path) -> list[str]:
    return [sys.executable, "-m", "flows.full_cycle", *experiment.flags, "--out", str(out)]


def run(experiment: Experiment, out: Path) -> dict[str, object]:
    """Run one experiment, its log under <out>/logs; returns the line recorded in experiments.jsonl."""
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    command = command_of(experiment, out)
    started = time.perf_counter()
    with open(logs / f"{experiment.name}.log", "w") as log:
        code = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"}).returncode
    manifest = out / run_name_of(experiment) / "manifest.json"
    return {**asdict(experiment), "command": command, "returncode": code,
            "manifest": str(manifest) if manifest.is_file() else None,
            "seconds": round(time.perf_counter() - started, 1)}


def run_name_of(experiment: Experiment) -> str:
    """The run folder the flow names after these settings."""
    config, args = parse_config(list(experiment.flags), "")
    return full_cycle.run_name_of(args.preset, with_evaluation(config))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/experiments"), help="shared output root")
    parser.add_argument("--only", nargs="+", choices=[e.name for e in EXPERIMENTS], help="run just these")
    args = parser.parse_args(argv)
    chosen = [e for e in EXPERIMENTS if not args.only or e.name in args.only]
    for experiment in chosen:
        print(f"running {experiment.name}: {' '.join(command_of(experiment, args.out)[1:])}", flush=True)
        record = run(experiment, args.out)
        with open(args.out / "experiments.jsonl", "a") as ledger:
            ledger.write(json.dumps(record) + "\n")
        print(f"  exit {record['returncode']} in {record['seconds']} s -> {record['manifest']}", flush=True)


if __name__ == "__main__":
    main()
