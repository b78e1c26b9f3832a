"""int8 pool labelling (`--label-int8`) against full precision: how much faster, and how far the labels move.

    python -m benchmarks.int8_labels --cross runs/cpu-XXXX/cross-encoder     # writes benchmarks/INT8.md

Each labeller labels the STS-B dev pairs (the split for choices, never the test sets) in fp32 and in int8,
alternating in one process for `--rounds` rounds; the table gives median seconds, the speed-up, the Spearman
between the two label sets and each one's Spearman with the dev gold scores.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from scipy.stats import spearmanr

from benchmarks.provenance import provenance
from models.config import PipelineConfig
from models.data import DataError
from models.data.sts import load_stsb_dev
from models.encoders.bi_encoder import BiEncoder
from models.encoders.cross_encoder import CrossEncoder
from models.runtime import Runtime
from models.training.distillation import label_with_bi, label_with_cross

REPO = Path(__file__).resolve().parent.parent
Labeller = Callable[[PipelineConfig], np.ndarray]


def _labellers(args: argparse.Namespace, texts_a: list[str], texts_b: list[str],
               runtime: Runtime) -> dict[str, Labeller]:
    """Name -> labelling under a config (fp32 or int8): the bi-encoders given, and the cross-encoder if given."""
    found: dict[str, Labeller] = {}
    for name in args.bi:
        try:
            bi = BiEncoder.from_pretrained(name, max_length=PipelineConfig().bi_max_length)
        except (DataError, ValueError) as error:
            print(f"skipping {name}: {error}", file=sys.stderr)
            continue
        found[f"bi {name}"] = lambda config, bi=bi: label_with_bi(bi, texts_a, texts_b, config, runtime)
    if args.cross:
        cross = CrossEncoder.from_pretrained(args.cross, max_length=PipelineConfig().cross_max_length)
        found[f"cross {args.cross.name}"] = lambda config: label_with_cross(cross, texts_a, texts_b, config, runtime)
    return found


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bi", nargs="*", default=["minilm-l6", "mpnet-base"], help="bi-encoder labellers")
    parser.add_argument("--cross", type=Path, help="a trained cross-encoder folder (e.g. a run's cross-encoder export)")
    parser.add_argument("--data-dir", type=Path, default=os.environ.get("STS_DATA_DIR"), required=
                        not os.environ.get("STS_DATA_DIR"), help="the STS folder (default: $STS_DATA_DIR)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pairs", type=int, help="the first N dev pairs only (default: all 1,500; a quick check)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "INT8.md")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    dev = load_stsb_dev(args.data_dir)
    runtime = Runtime.create("cpu", "fp32")
    configs = {"fp32": PipelineConfig(), "int8": PipelineConfig(label_int8=True)}
    texts_a, texts_b, gold_scores = dev.sentences1[:args.pairs], dev.sentences2[:args.pairs], dev.scores[:args.pairs]
    rows = []
    for name, label in _labellers(args, texts_a, texts_b, runtime).items():
        seconds: dict[str, list[float]] = {kind: [] for kind in configs}
        labels: dict[str, np.ndarray] = {}
        for _ in range(args.rounds):
            for kind, config in configs.items():
                started = time.perf_counter()
                labels[kind] = label(config)
                seconds[kind].append(time.perf_counter() - started)
        fp32, int8 = (statistics.median(seconds[kind]) for kind in configs)
        gold = {kind: 100 * spearmanr(labels[kind], gold_scores)[0] for kind in configs}
        row = (f"| {name} | {fp32:.1f} | {int8:.1f} | **{fp32 / int8:.2f}x** | "
               f"{spearmanr(labels['fp32'], labels['int8'])[0]:.4f} | {gold['fp32']:.2f} | {gold['int8']:.2f} |")
        print(row, flush=True)
        rows.append(row)
    args.out.write_text(f"""# int8 pool labelling against fp32

{provenance("benchmarks.int8_labels", argv)}; {args.threads} torch threads. {len(texts_a)} STS-B dev pairs labelled by
each model in fp32 and with `--label-int8` (dynamic int8 quantisation of the linear layers), alternating, median of
{args.rounds} round(s). Dev Spearman x100 against the gold scores.

| labeller | fp32 s | int8 s | speed-up | Spearman fp32~int8 | dev fp32 | dev int8 |
|---|---|---|---|---|---|---|
""" + "\n".join(rows) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
