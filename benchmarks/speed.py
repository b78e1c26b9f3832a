"""Our stages against sentence-transformers on the same work, side by side: benchmarks/SPEED.md.

Each measurement runs in a fresh process (nothing cached from an earlier round), ours and theirs
alternately (A B A B ...), with the same inputs, batch sizes, max lengths and threads; loading the
model is not timed. Outputs are checked to agree, so speed never comes from doing less of the work.

On the CPU, scoring and labelling are also measured on ONNX Runtime, fp32 and int8: ours (`--backend onnx`,
`--int8`) against sentence-transformers' ONNX backend with its own export and int8 (benchmarks/peer_onnx.py, in
`.venv-peer`: its ONNX backend needs a transformers older than the one pinned here). Their side is their fastest
backend of the same precision: PyTorch or ONNX for fp32, ONNX int8 for int8.

    python -m benchmarks.speed                                     # default model, 3 rounds -> benchmarks/SPEED.md
    python -m benchmarks.speed --model PATH --pairs 32 --rounds 1 --json speed.json --out /tmp/SPEED.md
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from benchmarks.fresh_process import measured
from benchmarks.provenance import provenance
from models.memory import image_peak_rss_mb

REPO = Path(__file__).resolve().parent.parent
TORCH_TASKS = ("bi_scoring", "cross_labelling", "cross_training", "bi_training")
# scoring and labelling on ONNX Runtime: (the torch task it is a faster way of doing, precision)
ONNX_TASKS = {"bi_scoring_onnx": ("bi_scoring", "fp32"), "cross_labelling_onnx": ("cross_labelling", "fp32"),
              "bi_scoring_int8": ("bi_scoring", "int8"), "cross_labelling_int8": ("cross_labelling", "int8")}
UNITS = {"bi_scoring": "pairs/s", "cross_labelling": "pairs/s", "cross_training": "examples/s",
         "bi_training": "examples/s"} | {task: "pairs/s" for task in ONNX_TASKS}
PEER_PYTHON = REPO / ".venv-peer" / "bin" / "python"
PEER_SCRIPT = Path(__file__).resolve().parent / "peer_onnx.py"


@dataclass(frozen=True)
class Job:
    task: str
    side: str  # "ours" or "theirs"
    model: str  # the bi-encoder folder
    cross: str  # a cross-encoder folder made from the same model
    scoring_pairs: str  # Parquet: text_a, text_b (STS test pairs)
    training_pairs: str  # Parquet: text_a, text_b, label (pool pairs)
    batch_size: int
    max_length: int
    threads: int
    device: str  # where both sides run, in fp32
    peer_python: str = ""  # ONNX tasks: the interpreter of sentence-transformers' ONNX backend
    peer_folder: str = ""  # ... and its exports of the same two models (bi/, cross/)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[6:8]))
    parser.add_argument("--model", default="minilm-l6",
                        help="bi-encoder: installed name or folder (default: minilm-l6)")
    parser.add_argument("--pairs", type=int, default=1000,
                        help="pool pairs for cross labelling and the two trainings (default: 1000)")
    parser.add_argument("--scoring-pairs", type=int,
                        help="STS test pairs for bi scoring (default: all 7 test sets, 20k pairs)")
    parser.add_argument("--rounds", type=int, default=3, help="A B rounds per task (default: 3)")
    parser.add_argument("--batch-size", type=int, default=32, help="for every task and both sides (default: 32)")
    parser.add_argument("--max-length", type=int, default=64, help="tokens per sentence or pair (default: 64)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads (default: all cores)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N: where both sides run, in fp32 "
                                                        "(default: cpu)")
    parser.add_argument("--data-dir", default=os.environ.get("STS_DATA_DIR"),
                        help="STS folder (default: $STS_DATA_DIR)")
    parser.add_argument("--peer-python", type=Path, default=PEER_PYTHON,
                        help="the interpreter with sentence-transformers' ONNX backend (`make peer`); without it, "
                             "the ONNX rows are left out (default: .venv-peer/bin/python)")
    parser.add_argument("--in-process", action="store_true",
                        help="measure here instead of in a fresh process each (a check that the benchmark runs: its "
                             "figures then carry this process's imports and caches)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "SPEED.md")
    args = parser.parse_args(argv)
    if not args.data_dir:
        parser.error("the STS test pairs are the scoring input: pass --data-dir or set STS_DATA_DIR")

    tasks = TORCH_TASKS + (tuple(ONNX_TASKS) if onnx_sides_at_hand(args) else ())
    with tempfile.TemporaryDirectory() as temp:
        jobs = _jobs(args, Path(temp), tasks)
        runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for round_no in range(args.rounds):
            for task in tasks:
                for side in ("ours", "theirs"):
                    outcome = measured(f"{task} ({side})", measure, jobs[task, side], fresh=not args.in_process)
                    runs.setdefault((task, side), []).append(outcome)
                    print(f"round {round_no + 1} {task:<16} {side:<6} {outcome['seconds']:8.2f} s  "
                          f"peak {outcome['peak_rss_mb']:.0f} MB", flush=True)
        figures = _figures(runs, jobs, tasks)
    _write_report(figures, args, argv)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return figures


def onnx_sides_at_hand(args: argparse.Namespace) -> bool:
    """The ONNX rows need the CPU, our onnx extra and the peer's interpreter; say which is missing."""
    from models.encoders.onnx_graph import onnx_available

    missing = [what for what, ok in (("--device cpu", args.device == "cpu"), ("the onnx extra", onnx_available()),
                                     (f"the peer's interpreter {args.peer_python} (make peer)",
                                      args.peer_python.is_file())) if not ok]
    if missing:
        print(f"note: the ONNX rows are left out: they need {', '.join(missing)}", file=sys.stderr)
    return not missing


def _jobs(args: argparse.Namespace, temp: Path, tasks: Sequence[str]) -> dict[tuple[str, str], Job]:
    """The inputs every process reads: STS test pairs for scoring, pool pairs for training, one cross folder; for
    the ONNX rows, the peer's own exports of both (made here, untimed)."""
    from models.data import load_pool, load_test_sets
    from models.encoders.bi_encoder import BiEncoder
    from models.encoders.cross_encoder import CrossEncoder

    rng = np.random.default_rng(0)
    sets = load_test_sets(Path(args.data_dir))
    scoring = pd.DataFrame({"text_a": [a for s in sets.values() for a in s.sentences1],
                            "text_b": [b for s in sets.values() for b in s.sentences2]})
    if args.scoring_pairs:
        scoring = scoring.iloc[np.sort(rng.choice(len(scoring), min(args.scoring_pairs, len(scoring)), replace=False))]
    pool = load_pool("sts_sickr", Path(args.data_dir))
    training = pool.iloc[np.sort(rng.choice(len(pool), min(args.pairs, len(pool)), replace=False))].copy()
    training["label"] = rng.uniform(0, 1, len(training)).astype(np.float32)  # values do not change the cost
    scoring.to_parquet(temp / "scoring.parquet")
    training.to_parquet(temp / "training.parquet")
    for name, frame in (("scoring", scoring), ("training", training)):  # the peer's interpreter reads JSON
        (temp / f"{name}.json").write_text(json.dumps({"texts_a": frame["text_a"].tolist(),
                                                        "texts_b": frame["text_b"].tolist()}))
    import torch

    # Both sides load the same folders: a sentence-transformers layout (so the pooling is the same) and a
    # cross-encoder with a seeded head.
    models = {"bi": BiEncoder.from_pretrained(args.model, max_length=args.max_length)}
    models["bi"].save(temp / "bi")
    torch.manual_seed(0)
    models["cross"] = CrossEncoder.from_pretrained(args.model, max_length=args.max_length)
    models["cross"].save(temp / "cross")
    peer = {}
    if any(task in ONNX_TASKS for task in tasks):
        _peer(str(args.peer_python), "prepare", str(temp / "bi"), str(temp / "cross"), str(temp / "peer"))
        peer = {"peer_python": str(args.peer_python), "peer_folder": str(temp / "peer")}
        from models.encoders.backend import export_onnx

        for kind, model in models.items():  # ours: graphs beside the weights, as a run exports them
            export_onnx(model, temp / kind)
    return {(task, side): Job(task, side, str(temp / "bi"), str(temp / "cross"), str(temp / "scoring.parquet"),
                              str(temp / "training.parquet"), args.batch_size, args.max_length, args.threads,
                              args.device, **peer)
            for task in tasks for side in ("ours", "theirs")}


def measure(job: Job) -> dict[str, Any]:
    """In the child: load (untimed), run the task once (timed), report time, output and peak RSS."""
    import torch

    if job.task in ONNX_TASKS and job.side == "theirs":
        return _peer_measure(job)
    torch.set_num_threads(job.threads)
    run = _RUNNERS[job.task, job.side](job)  # loads, returns the timed call
    started = time.perf_counter()
    output = run()
    _synchronize(job.device)
    seconds = time.perf_counter() - started
    # scoring outputs are compared across sides; a training run's return value is not an output
    return {"seconds": seconds, "output": output.tolist() if isinstance(output, np.ndarray) else None,
            "peak_rss_mb": image_peak_rss_mb()}


def _pairs(path: str) -> pd.DataFrame:
    return pd.read_parquet(path)


def _synchronize(device: str) -> None:
    """A GPU runs ahead of Python: the clock stops when its queued work is done."""
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


def _runtime(job: Job) -> Any:
    from models.runtime import Runtime

    return Runtime.create(job.device, "fp32", 0)


def _ours_bi_scoring(job: Job, backend: str = "torch", int8: bool = False) -> Callable[[], Any]:
    """On ONNX Runtime, from the graphs exported beside the weights (as `score` serves a run's export)."""
    from models.encoders.backend import with_backend
    from models.encoders.bi_encoder import BiEncoder

    frame, bi = _pairs(job.scoring_pairs), BiEncoder.from_pretrained(job.model, max_length=job.max_length)
    bi = with_backend(bi.to(job.device), backend, int8, Path(job.model))
    return lambda: bi.similarity(frame["text_a"].tolist(), frame["text_b"].tolist(), job.batch_size)


def _theirs_bi_scoring(job: Job) -> Callable[[], Any]:
    from sentence_transformers import SentenceTransformer

    frame, model = _pairs(job.scoring_pairs), SentenceTransformer(job.model, device=job.device)
    model.max_seq_length = job.max_length

    def run() -> np.ndarray:
        a = model.encode(frame["text_a"].tolist(), batch_size=job.batch_size, normalize_embeddings=True)
        b = model.encode(frame["text_b"].tolist(), batch_size=job.batch_size, normalize_embeddings=True)
        return (a * b).sum(axis=1)

    return run


def _ours_cross_labelling(job: Job, backend: str = "torch", int8: bool = False) -> Callable[[], Any]:
    from models.encoders.backend import with_backend
    from models.encoders.cross_encoder import CrossEncoder

    frame, cross = _pairs(job.training_pairs), CrossEncoder.from_pretrained(job.cross, max_length=job.max_length)
    cross = with_backend(cross.to(job.device), backend, int8, Path(job.cross))
    return lambda: cross.score(frame["text_a"].tolist(), frame["text_b"].tolist(), False, job.batch_size)


def _theirs_cross_labelling(job: Job) -> Callable[[], Any]:
    from sentence_transformers import CrossEncoder

    frame, cross = _pairs(job.training_pairs), CrossEncoder(job.cross, max_length=job.max_length, device=job.device)
    pairs = list(zip(frame["text_a"], frame["text_b"]))
    return lambda: cross.predict(pairs, batch_size=job.batch_size, show_progress_bar=False)


def _peer_measure(job: Job) -> dict[str, Any]:
    """One measurement by sentence-transformers' ONNX backend, in its own interpreter (a process of its own)."""
    base, precision = ONNX_TASKS[job.task]
    kind = "bi" if base == "bi_scoring" else "cross"
    pairs = Path(job.scoring_pairs if kind == "bi" else job.training_pairs).with_suffix(".json")
    spec = {"kind": kind, "precision": precision, "folder": str(Path(job.peer_folder) / kind),
            "batch_size": job.batch_size, "max_length": job.max_length, "threads": job.threads,
            **json.loads(pairs.read_text())}
    with tempfile.NamedTemporaryFile("w", suffix=".json") as spec_file:
        spec_file.write(json.dumps(spec))
        spec_file.flush()
        return json.loads(_peer(job.peer_python, "measure", spec_file.name).splitlines()[-1])


def _peer(python: str, *command: str) -> str:
    """benchmarks/peer_onnx.py in the peer's interpreter: its output, or its last error line as ours."""
    done = subprocess.run([python, str(PEER_SCRIPT), *command], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"peer_onnx.py {command[0]} failed: {done.stderr.strip().splitlines()[-1:]}")
    return done.stdout.strip()


def _config(job: Job) -> Any:
    from models.config import PipelineConfig

    return PipelineConfig(cross_batch_size=job.batch_size, cross_max_length=job.max_length, cross_epochs=1,
                          bi_batch_size=job.batch_size, bi_max_length=job.max_length, bi_epochs=1, device=job.device,
                          precision="fp32")


def _ours_cross_training(job: Job) -> Callable[[], Any]:
    from models.encoders.cross_encoder import CrossEncoder
    from models.training.distillation import fit_cross_encoder

    frame, cross = _pairs(job.training_pairs), CrossEncoder.from_pretrained(job.cross, max_length=job.max_length)
    return lambda: fit_cross_encoder(cross, frame["text_a"].tolist(), frame["text_b"].tolist(),
                                     frame["label"].to_numpy(), _config(job), _runtime(job))


def _theirs_cross_training(job: Job) -> Callable[[], Any]:
    from datasets import Dataset
    from sentence_transformers import CrossEncoder
    from sentence_transformers.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    frame, config = _pairs(job.training_pairs), _config(job)
    cross = CrossEncoder(job.cross, max_length=job.max_length, device=job.device)
    labels = frame["label"].tolist()
    data = Dataset.from_dict({"sentence_A": [*frame["text_a"], *frame["text_b"]],  # both orders, as ours
                              "sentence_B": [*frame["text_b"], *frame["text_a"]], "label": labels + labels})
    trainer = CrossEncoderTrainer(model=cross, train_dataset=data, loss=BinaryCrossEntropyLoss(cross),
                                  args=CrossEncoderTrainingArguments(**_trainer_args(job, config.cross_lr,
                                                                                     config.cross_warmup_ratio)))
    return trainer.train


def _ours_bi_training(job: Job) -> Callable[[], Any]:
    from models.encoders.bi_encoder import BiEncoder
    from models.training.distillation import distil_bi_encoder

    frame, bi = _pairs(job.training_pairs), BiEncoder.from_pretrained(job.model, max_length=job.max_length)
    return lambda: distil_bi_encoder(bi, frame["text_a"].tolist(), frame["text_b"].tolist(),
                                     frame["label"].to_numpy(), _config(job), _runtime(job))


def _theirs_bi_training(job: Job) -> Callable[[], Any]:
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.sentence_transformer.losses import CosineSimilarityLoss

    frame, config = _pairs(job.training_pairs), _config(job)
    model = SentenceTransformer(job.model, device=job.device)
    model.max_seq_length = job.max_length
    data = Dataset.from_dict({"sentence1": frame["text_a"].tolist(), "sentence2": frame["text_b"].tolist(),
                              "score": frame["label"].tolist()})
    trainer = SentenceTransformerTrainer(model=model, train_dataset=data, loss=CosineSimilarityLoss(model),
                                         args=SentenceTransformerTrainingArguments(
                                             **_trainer_args(job, config.bi_lr, config.bi_warmup_ratio)))
    return trainer.train


def _trainer_args(job: Job, lr: float, warmup_ratio: float) -> dict[str, Any]:
    """The Hugging Face trainer set to our loop: one epoch, same batch, rate and warm-up; no saving or logging (its
    output folder sits in the benchmark's temp folder, removed at the end)."""
    return dict(output_dir=str(Path(job.cross).parent / f"trainer-{job.task}"),
                per_device_train_batch_size=job.batch_size, num_train_epochs=1, learning_rate=lr,
                warmup_steps=warmup_ratio, weight_decay=0.01,
                save_strategy="no", report_to=[], logging_strategy="no", use_cpu=job.device == "cpu", seed=0,
                disable_tqdm=True, dataloader_num_workers=0)


_RUNNERS: dict[tuple[str, str], Callable[[Job], Callable[[], Any]]] = {
    ("bi_scoring", "ours"): _ours_bi_scoring, ("bi_scoring", "theirs"): _theirs_bi_scoring,
    ("cross_labelling", "ours"): _ours_cross_labelling, ("cross_labelling", "theirs"): _theirs_cross_labelling,
    ("cross_training", "ours"): _ours_cross_training, ("cross_training", "theirs"): _theirs_cross_training,
    ("bi_training", "ours"): _ours_bi_training, ("bi_training", "theirs"): _theirs_bi_training,
} | {(task, "ours"): functools.partial({"bi_scoring": _ours_bi_scoring, "cross_labelling": _ours_cross_labelling}[base],
                                       backend="onnx", int8=precision == "int8")
     for task, (base, precision) in ONNX_TASKS.items()}


def _figures(runs: dict[tuple[str, str], list[dict[str, Any]]], jobs: dict[tuple[str, str], Job],
             tasks: Sequence[str]) -> dict[str, Any]:
    """Medians, throughputs, ratios (ours over theirs, higher is better), agreement and peak memory. An ONNX task's
    ratio is over their fastest backend of the same precision; an fp32 ONNX task's also over their ONNX backend
    (`_backend_ratio`), an int8 task's over their PyTorch fp32 (`_torch_ratio`)."""
    figures: dict[str, Any] = {"tasks": {}}
    median = {(task, side): statistics.median(r["seconds"] for r in runs[task, side])
              for task in tasks for side in ("ours", "theirs")}
    for task in tasks:
        job = jobs[task, "ours"]
        n = len(_pairs(job.scoring_pairs if task.startswith("bi_scoring") else job.training_pairs))
        n = n * 2 if task == "cross_training" else n  # each pair in both orders
        figures["tasks"][task] = {
            "unit": UNITS[task], "items": n,
            **{f"{side}_seconds": round(median[task, side], 3) for side in ("ours", "theirs")},
            **{f"{side}_per_s": round(n / median[task, side], 1) for side in ("ours", "theirs")},
            **{f"{side}_peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs[task, side]))
               for side in ("ours", "theirs")},
        }
        figures[f"{task}_ratio"] = round(median[task, "theirs"] / median[task, "ours"], 3)
    for task, (base, precision) in ONNX_TASKS.items():
        if task not in tasks:
            continue
        if precision == "fp32":  # their fastest fp32: PyTorch or ONNX; and their ONNX backend alone
            figures[f"{task}_ratio"] = round(min(median[task, "theirs"], median[base, "theirs"])
                                             / median[task, "ours"], 3)
            figures[f"{task}_backend_ratio"] = round(median[task, "theirs"] / median[task, "ours"], 3)
        else:
            figures[f"{task}_torch_ratio"] = round(median[base, "theirs"] / median[task, "ours"], 3)
    figures.update(_agreement(runs, tasks))
    if any(task in ONNX_TASKS for task in tasks):
        from benchmarks.figures import int8_figures

        figures["int8_dev_loss_max"] = round(max(float(figure.value) for name, figure in int8_figures().items()
                                                 if name.endswith("/dev loss")), 2)
    figures.update(_encode_peak(jobs["bi_scoring", "ours"], figures["tasks"]["bi_scoring"]["ours_seconds"]))
    return figures


def _agreement(runs: dict[tuple[str, str], list[dict[str, Any]]], tasks: Sequence[str]) -> dict[str, Any]:
    """Cosines within 1e-4; cross scores ranked alike (Spearman > 0.999); on ONNX fp32, both within 1e-4."""
    def outputs(task: str) -> tuple[np.ndarray, np.ndarray]:
        return tuple(np.asarray(runs[task, side][0]["output"]) for side in ("ours", "theirs"))  # type: ignore

    ours, theirs = outputs("bi_scoring")
    cosine_gap = float(np.max(np.abs(ours - theirs)))
    ours, theirs = outputs("cross_labelling")
    rank = float(spearmanr(ours, theirs).statistic) if len(ours) > 1 else 1.0
    found = {"bi_cosine_max_gap": cosine_gap, "cross_score_spearman": rank}
    if "bi_scoring_onnx" in tasks:
        found["bi_onnx_cosine_max_gap"] = float(np.max(np.abs(np.subtract(*outputs("bi_scoring_onnx")))))
        found["cross_onnx_score_max_gap"] = float(np.max(np.abs(np.subtract(*outputs("cross_labelling_onnx")))))
    gaps = {name: gap for name, gap in found.items() if name.endswith("max_gap") and gap > 1e-4}
    if gaps or not rank > 0.999:
        raise SystemExit(f"outputs disagree: {gaps or ''} (limit 1e-4), cross Spearman {rank:.5f}")
    return found


def _encode_peak(job: Job, seconds: float) -> dict[str, Any]:
    """Achieved GFLOP/s of our bi-encoder scoring (distinct sentences, real tokens) against a measured matmul."""
    import torch
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    frame = _pairs(job.scoring_pairs)
    sentences = list(dict.fromkeys([*frame["text_a"], *frame["text_b"]]))
    tokenizer, config = AutoTokenizer.from_pretrained(job.model), AutoConfig.from_pretrained(job.model)
    encoded = tokenizer(sentences, truncation=True, max_length=job.max_length)["input_ids"]
    lengths = np.array([len(ids) for ids in encoded])
    model = AutoModel.from_pretrained(job.model)
    per_token = 2 * sum(p.numel() for n, p in model.named_parameters() if "embeddings" not in n)
    attention = 4 * config.num_hidden_layers * config.hidden_size * lengths.astype(float) ** 2
    flops = float(per_token * lengths.sum() + attention.sum())
    torch.set_num_threads(job.threads)
    a, b = torch.randn(1024, 1024, device=job.device), torch.randn(1024, 1024, device=job.device)
    timings = []
    for _ in range(20):
        started = time.perf_counter()
        a @ b
        _synchronize(job.device)
        timings.append(time.perf_counter() - started)
    peak = 2 * 1024 ** 3 / statistics.median(timings) / 1e9
    achieved = flops / seconds / 1e9
    return {"encode_gflops": round(achieved, 1), "matmul_peak_gflops": round(peak, 1),
            "encode_peak_fraction": round(achieved / peak, 3)}


def _write_report(figures: dict[str, Any], args: argparse.Namespace, argv: Sequence[str] | None) -> None:
    rows = "\n".join(
        f"| {task} | {f['items']} | {f['unit']} | {f['ours_per_s']} | {f['theirs_per_s']} | "
        f"**{figures[f'{task}_ratio']:.2f}x** | {f['ours_peak_rss_mb']} | {f['theirs_peak_rss_mb']} |"
        for task, f in figures["tasks"].items())
    onnx = "" if "bi_onnx_cosine_max_gap" not in figures else f"""
ONNX rows: ours runs `--backend onnx` (the graph exported by torch's exporter; `_int8`: `--int8`, quantised as
models/encoders/backend.py's INT8_RECIPE); theirs is sentence-transformers 5.7's ONNX backend on its own export
(`_int8`: its AVX2 dynamic int8), and the ratio is over their fastest backend of the same precision (for fp32, their
PyTorch or their ONNX). Our ONNX fp32 over their ONNX backend: bi scoring
**{figures['bi_scoring_onnx_backend_ratio']:.2f}x**, cross labelling
**{figures['cross_labelling_onnx_backend_ratio']:.2f}x**. int8 over their PyTorch fp32: bi scoring
**{figures['bi_scoring_int8_torch_ratio']:.2f}x**, cross labelling
**{figures['cross_labelling_int8_torch_ratio']:.2f}x**; the most dev Spearman our int8 loses on any
model of benchmarks/INT8.md: {figures['int8_dev_loss_max']:.2f} points. ONNX fp32 agreement with theirs: largest
cosine gap {figures['bi_onnx_cosine_max_gap']:.1e}, largest cross score gap {figures['cross_onnx_score_max_gap']:.1e}.
"""
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(f"""# Speed: ours against sentence-transformers

{provenance("benchmarks.speed", argv)}; {args.threads} torch threads, on {args.device}. Model `{args.model}`,
batch {args.batch_size}, max length {args.max_length}, median of {args.rounds} round(s), each measurement in a
fresh process (cold), ours and theirs alternating. Ratio: ours over theirs in throughput (higher is better).

| task | items | unit | ours | theirs | ratio | ours peak RSS MB | theirs peak RSS MB |
|---|---|---|---|---|---|---|---|
{rows}

Agreement: largest cosine gap {figures['bi_cosine_max_gap']:.1e}; cross scores' Spearman
{figures['cross_score_spearman']:.5f}. Encoding (our bi scoring, real tokens of distinct sentences):
{figures['encode_gflops']} GFLOP/s against a measured 1024x1024 fp32 matmul of {figures['matmul_peak_gflops']}
GFLOP/s, {100 * figures['encode_peak_fraction']:.0f}% of it.
{onnx}""")


if __name__ == "__main__":
    main()
