"""Search quality of bi-encoders (and a cross-encoder reranking their top K) on a task built from STS-B test.

    python -m benchmarks.retrieval minilm-l6 runs/cpu-XXXX --rerank 20     # writes benchmarks/RETRIEVAL.md

The task: every STS-B test pair with a gold score of 4.0 or more is a query (sentence 1) and its relevant text
(sentence 2); the corpus is every distinct sentence of STS-B test's 1,379 pairs, so the other pairs' sentences are
the distractors, and a query never retrieves its own sentence (models/data/retrieval_task.py). Why STS-B test: it is on
every machine with the STS folder, at 4.0 a pair is a paraphrase ("mostly equivalent"), its sentences come from three
genres (captions, news, forums), so distractors are not all of one template as SICK-R's are, and its 2,552 texts
encode in about a minute on 2 cores. Like the STS scores, it is in-domain for runs whose pool holds STS-B
test's pairs without their scores (the built-in pools): it measures adaptation, not transfer.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

import pandas as pd

from benchmarks.provenance import provenance
from flows.evaluate import expand_models, rerank_pairs
from models.data.retrieval_task import RetrievalTask, task_from_pairs, write_beir
from models.data.sts import load_test_set
from models.encoders.loading import load_encoder
from models.metrics import RETRIEVAL_METRICS
from models.retrieval import mean_metrics, rerank, retrieve, score_rankings
from models.runtime import Runtime

REPO = Path(__file__).resolve().parent.parent
MIN_SCORE = 4.0


def build_task(data_dir: Path, folder: Path, min_score: float = MIN_SCORE) -> RetrievalTask:
    """STS-B test as a search task (pairs scored `min_score` or more are positives), written to `folder` (BEIR)."""
    pairs = load_test_set(data_dir, "STSBenchmark")
    with tempfile.TemporaryDirectory() as temp:
        path = Path(temp) / "stsb-test.csv"
        pd.DataFrame({"sentence1": pairs.sentences1, "sentence2": pairs.sentences2,
                      "label": (pairs.scores >= min_score).astype(int)}).to_csv(path, index=False)
        task = task_from_pairs(path)
    write_beir(task, folder)
    return task


def measure(models: Sequence[str], task: RetrievalTask, k: int | None, max_length: int,
            runtime: Runtime) -> list[tuple[str, dict[str, float], float]]:
    """(row label, mean metrics, seconds) per bi-encoder, then per cross-encoder reranking its bi-encoder's top k."""
    chosen = expand_models(models, "auto")
    rows, rankings = [], {}
    for b, (label, source, kind) in enumerate(chosen):
        if kind == "bi":
            started = time.perf_counter()
            model = load_encoder("bi", source, None, max_length).to(runtime.device)
            rankings[b] = retrieve(model, task, 128, runtime.dtype)  # type: ignore[arg-type]
            shown = label if label.endswith(" bi") else f"{label} (bi)"
            rows.append((shown, mean_metrics(score_rankings(task, rankings[b])),
                         time.perf_counter() - started))
    for c, b in rerank_pairs(chosen) if k else ():
        started = time.perf_counter()
        model = load_encoder("cross", chosen[c][1], None, max_length).to(runtime.device)
        reranked = rerank(model, task, rankings[b], k, 128, runtime.dtype)  # type: ignore[arg-type,arg-type]
        rows.append((f"{chosen[c][0]} reranking {chosen[b][0]}'s top {k}",
                     mean_metrics(score_rankings(task, reranked)), time.perf_counter() - started))
    return rows


def report(rows: list[tuple[str, dict[str, float], float]], task: RetrievalTask, k: int | None, argv: Sequence[str],
           task_dir: Path) -> str:
    positives = sum(len(task.relevant(query)) for query in task.query_ids)
    head = "| model | " + " | ".join(RETRIEVAL_METRICS) + " | seconds |"
    lines = [f"| {label} | " + " | ".join(f"{scores[m]:.2f}" for m in RETRIEVAL_METRICS) + f" | {seconds:.0f} |"
             for label, scores, seconds in rows]
    rerank_note = f" A cross-encoder reorders each query's top {k} by its (query, text) score." if k else ""
    return "\n".join([
        "# Search: STS-B test as a retrieval task", "",
        f"Written by {provenance('benchmarks.retrieval', argv)}.", "",
        f"{len(task.query_ids):,} queries (STS-B test pairs scored {MIN_SCORE} or more: sentence 1 searches for "
        f"sentence 2; {positives:,} relevant texts), {len(task.doc_ids):,} texts in the corpus (every distinct "
        "sentence of STS-B test; a query's own sentence is left out of its ranking). nDCG@10, MRR@10, Recall@10 "
        f"and Recall@100 x100, averaged over queries (BEIR's definitions), at 256 tokens.{rerank_note} Seconds: "
        f"encoding and search (bi), scoring the top {k} (cross), on CPU. The task in BEIR layout: `{task_dir}` "
        "(`trans-encoder evaluate MODEL --retrieval DIR --skip-sts` gives the same numbers).", "",
        "The built-in pools hold STS-B test's pairs without scores, so for a run's exports this is in-domain, like "
        "its STS-B score; see the module's docstring for why STS-B test.", "",
        head, "|---|" + "---|" * (len(RETRIEVAL_METRICS) + 1), *lines, ""])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=["minilm-l6"],
                        help="run folders (their exports), model folders or installed names (default: minilm-l6)")
    parser.add_argument("--rerank", type=int, metavar="K", help="each run's cross-encoder reranks its bi's top K")
    parser.add_argument("--data-dir", type=Path, default=os.environ.get("STS_DATA_DIR"),
                        required=not os.environ.get("STS_DATA_DIR"), help="the STS folder (default: $STS_DATA_DIR)")
    parser.add_argument("--task-dir", type=Path, default=Path(tempfile.gettempdir()) / "stsb-test-retrieval",
                        help="where the task is written in BEIR layout")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "RETRIEVAL.md")
    args = parser.parse_args(argv)
    task = build_task(args.data_dir, args.task_dir)
    print(f"task: {len(task.query_ids)} queries, {len(task.doc_ids)} texts -> {args.task_dir}", flush=True)
    rows = measure(args.models, task, args.rerank, 256, Runtime.create(args.device, "auto", 0))
    args.out.write_text(report(rows, task, args.rerank, argv if argv is not None else sys.argv[1:], args.task_dir))
    print(args.out.read_text())


if __name__ == "__main__":
    main()
