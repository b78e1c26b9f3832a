"""int8 labelling and serving (`--int8`, `--label-int8`) against fp32: how much faster, and how far the labels move,
for each way of computing in int8 that was tried; the chosen one is the `--int8` path.

    python -m benchmarks.int8_labels --cross runs/cpu-XXXX/cross-encoder     # writes benchmarks/INT8.md

Each labeller labels the STS-B dev pairs (the split for choices, never the test sets) in PyTorch fp32 and then by
every other method (PyTorch's dynamic int8, ONNX Runtime fp32, and the graph quantised by each recipe of
models/encoders/backend.py), one after the other for `--rounds` rounds; the tables give median seconds, the speed-up
over PyTorch fp32, the Spearman between the two label sets and each one's Spearman with the dev gold scores.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from scipy.stats import spearmanr

from benchmarks.provenance import provenance
from models.config import PipelineConfig
from models.data import DataError
from models.data.sts import load_stsb_dev
from models.encoders.backend import INT8_RECIPE, INT8_RECIPES, export_fp32, quantise_graph
from models.encoders.bi_encoder import BiEncoder
from models.encoders.cross_encoder import CrossEncoder
from models.encoders.onnx_graph import OnnxGraph

REPO = Path(__file__).resolve().parent.parent
TORCH_FP32, TORCH_INT8, ONNX_FP32 = "torch fp32", "torch int8", "onnx fp32"
CHOSEN = f"onnx int8 {INT8_RECIPE}"
Encoder = BiEncoder | CrossEncoder


def _labellers(args: argparse.Namespace) -> dict[str, Callable[[], Encoder]]:
    """Name -> a loader of a fresh copy: the bi-encoders given, and the cross-encoder if given."""
    found: dict[str, Callable[[], Encoder]] = {}
    for name in args.bi:
        try:
            BiEncoder.from_pretrained(name)
        except (DataError, ValueError) as error:
            print(f"skipping {name}: {error}", file=sys.stderr)
            continue
        found[f"bi {name}"] = lambda name=name: BiEncoder.from_pretrained(
            name, max_length=PipelineConfig().bi_max_length)
    if args.cross:
        found[f"cross {args.cross.name}"] = lambda: CrossEncoder.from_pretrained(
            args.cross, max_length=PipelineConfig().cross_max_length)
    return found


def _methods(load: Callable[[], Encoder], folder: Path) -> dict[str, Encoder]:
    """Every way of computing the labeller, each on its own copy: the ONNX ones share one exported fp32 graph."""
    model = load()
    fp32 = export_fp32(model, folder / "model.onnx")
    graphs = {ONNX_FP32: fp32} | {f"onnx int8 {recipe}": quantise_graph(fp32, folder / f"int8-{i}.onnx", recipe)
                                  for i, recipe in enumerate(INT8_RECIPES)}
    methods: dict[str, Encoder] = {TORCH_FP32: model, TORCH_INT8: _torch_int8(load())}
    for name, graph in graphs.items():
        methods[name] = load()
        methods[name].graph = OnnxGraph(graph)
    return methods


def _torch_int8(model: Encoder) -> Encoder:
    """PyTorch's dynamic int8 of the linear layers: the int8 path before ONNX, kept here as the baseline."""
    with warnings.catch_warnings():  # torch marks eager quantisation deprecated in favour of torchao (not installed)
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def _label(model: Encoder, texts_a: list[str], texts_b: list[str]) -> np.ndarray:
    batch = PipelineConfig().eval_batch_size
    if isinstance(model, BiEncoder):
        return model.similarity(texts_a, texts_b, batch)
    return model.score(texts_a, texts_b, False, batch)


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
    texts_a, texts_b, gold_scores = dev.sentences1[:args.pairs], dev.sentences2[:args.pairs], dev.scores[:args.pairs]
    chosen_rows, method_rows = [], []
    for name, load in _labellers(args).items():
        with tempfile.TemporaryDirectory(prefix="int8-") as folder:
            methods = _methods(load, Path(folder))
            seconds: dict[str, list[float]] = {method: [] for method in methods}
            labels: dict[str, np.ndarray] = {}
            for _ in range(args.rounds):
                for method, model in methods.items():
                    started = time.perf_counter()
                    labels[method] = _label(model, texts_a, texts_b)
                    seconds[method].append(time.perf_counter() - started)
        median = {method: statistics.median(values) for method, values in seconds.items()}
        gold = {method: 100 * spearmanr(found, gold_scores)[0] for method, found in labels.items()}
        agree = {method: spearmanr(labels[TORCH_FP32], found)[0] for method, found in labels.items()}
        for method in methods:
            speed_up = median[TORCH_FP32] / median[method]
            method_rows.append(f"| {method} | {name} | {median[method]:.1f} | {speed_up:.2f}x | {agree[method]:.4f} "
                               f"| {gold[method]:.2f} | {gold[method] - gold[TORCH_FP32]:+.2f} |")
        row = (f"| {name} | {median[TORCH_FP32]:.1f} | {median[CHOSEN]:.1f} | "
               f"**{median[TORCH_FP32] / median[CHOSEN]:.2f}x** | {agree[CHOSEN]:.4f} | {gold[TORCH_FP32]:.2f} | "
               f"{gold[CHOSEN]:.2f} |")
        print(row, flush=True)
        chosen_rows.append(row)
    args.out.write_text(f"""# int8 labelling and serving against fp32

{provenance("benchmarks.int8_labels", argv)}; {args.threads} threads. {len(texts_a)} STS-B dev pairs labelled by
each model in PyTorch fp32 and by each other method, one after the other, median of {args.rounds} round(s). Dev
Spearman x100 against the gold scores.

## The `--int8` path ({CHOSEN}) against PyTorch fp32

| labeller | fp32 s | int8 s | speed-up | Spearman fp32~int8 | dev fp32 | dev int8 |
|---|---|---|---|---|---|---|
""" + "\n".join(chosen_rows) + """

## Every method tried

`torch int8`: PyTorch's dynamic quantisation of the linear layers (the `--label-int8` path before ONNX).
`onnx fp32`: the exported graph on ONNX Runtime. `onnx int8 ...`: the graph's weight products quantised by ONNX
Runtime (dynamic: activations per batch): weights per tensor or per output channel, 7-bit weights (no overflow in
AVX2's u8 x s8 products), the feed-forward output layer (fed by GELU, where the activation outliers are) kept fp32.

| method | labeller | seconds | speed-up | Spearman with fp32 | dev | dev change |
|---|---|---|---|---|---|---|
""" + "\n".join(method_rows) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
