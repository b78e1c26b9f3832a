"""Score any bi-encoder or cross-encoder on the 7 STS test sets and STS-B dev (and your own pairs, and a search task).

Models can be a run folder (its exported bi- and cross-encoder), a model folder, a
sentence-transformers folder, an installed short name (minilm-l6) or a hub id. The table is
printed, written as JSON and published as the Prefect table artifact `sts-evaluation`.
Scores are Spearman x100 of cosine (bi) or (a, b) score (cross) against the gold scores, at
256 tokens: the SentEval 'all' protocol that sentence-transformers' evaluator also follows.
With `--retrieval`, each bi-encoder ranks the task's corpus for each query (and with `--rerank K` each
cross-encoder reranks the top K of the bi-encoder beside it): nDCG@10, MRR@10, Recall@10 and Recall@100 x100, in
the JSON under `retrieval` and as the artifact `retrieval-evaluation`.
"""
from __future__ import annotations

import json
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from artifacts.atomic import write_text_atomic
from artifacts.manifest import read_manifest
from flows.server import scoped_api
from models.data import DEV, TEST_SETS, DataError, LabelledPairs, benchmark_dir, load_benchmarks
from models.data.labelled import load_labelled_pairs
from models.data.retrieval_task import RetrievalTask, load_task
from models.encoders.backend import load_for_serving
from models.encoders.sources import model_kind, resolve_model_source
from models.evaluation import evaluate, evaluate_pairs
from models.progress import track
from models.reporting.report import table_records, text_table
from models.reporting.score_rows import ExportKey
from models.retrieval import mean_metrics, retrieve, score_rankings
from models.retrieval import rerank as rerank_top_k
from models.runtime import Runtime
from pipeline.cli import evaluate_parser
from pipeline.preflight import check_model_reachable, check_runtime, check_sts_at_hand, input_errors

KINDS = ("auto", "bi", "cross")
EXPORTS = {"bi": "bi-encoder", "cross": "cross-encoder"}


def expand_models(models: Sequence[str], kind: str) -> list[tuple[str, str, str]]:
    """(label, source, kind) per model; a run folder (with manifest.json) stands for its two exports."""
    expanded: list[tuple[str, str, str]] = []
    for model in models:
        run = Path(model)
        if (run / "manifest.json").is_file():
            exports = read_manifest(run / "manifest.json").get("exports", {})
            found = [(f"{run.name} {key}", path, ExportKey.parse(key).kind) for key, path in exports.items()
                     if Path(path).is_dir() and kind in ("auto", ExportKey.parse(key).kind)]
            if not found:
                raise DataError(f"run folder {run} has no exported {' or '.join(EXPORTS.values())} yet; "
                                 "it finishes writing them at the end of the run")
            expanded += found
            continue
        source = resolve_model_source(model)
        expanded.append((model, source, model_kind(source) if kind == "auto" else kind))
    return expanded


@task(name="score-model", task_run_name="score {label}", cache_policy=NO_CACHE)
def score_model(label: str, source: str, kind: str, test_sets: dict[str, LabelledPairs], dev: LabelledPairs | None,
                pairs: LabelledPairs | None, pooling: str | None, max_length: int, batch_size: int,
                device: str, precision: str, backend: str = "torch", int8: bool = False) -> dict[str, Any]:
    """One model's STS scores and, when given, its score on the user's pairs."""
    runtime = Runtime.create(device, precision, 0)  # type: ignore[arg-type]
    model = load_for_serving(kind, source, pooling, max_length, runtime.device, backend, int8)
    scores = evaluate(model, test_sets, dev, runtime, batch_size) if test_sets or dev else {}
    result: dict[str, Any] = {"label": label, "source": source, "kind": kind, "scores": scores}
    if pairs is not None:
        result["pairs"] = evaluate_pairs(model, pairs, runtime, batch_size)
    return result


@task(name="retrieve", task_run_name="retrieve with {label}", cache_policy=NO_CACHE)
def retrieve_with(label: str, source: str, search: RetrievalTask, pooling: str | None, max_length: int,
                  batch_size: int, device: str, precision: str, backend: str = "torch",
                  int8: bool = False) -> tuple[dict[str, Any], list[list[str]]]:
    """One bi-encoder's search scores, and its rankings for the cross-encoders to rerank."""
    runtime = Runtime.create(device, precision, 0)  # type: ignore[arg-type]
    model = load_for_serving("bi", source, pooling, max_length, runtime.device, backend, int8)
    rankings = retrieve(model, search, batch_size, runtime.dtype)  # type: ignore[arg-type]
    scores = mean_metrics(score_rankings(search, rankings))
    return {"label": label, "source": source, "kind": "bi", "scores": scores}, rankings


@task(name="rerank", task_run_name="rerank {bi_label} with {label}", cache_policy=NO_CACHE)
def rerank_with(label: str, source: str, bi_label: str, rankings: list[list[str]], search: RetrievalTask, k: int,
                max_length: int, batch_size: int, device: str, precision: str, backend: str = "torch",
                int8: bool = False) -> dict[str, Any]:
    """A cross-encoder reranking one bi-encoder's top `k` per query."""
    runtime = Runtime.create(device, precision, 0)  # type: ignore[arg-type]
    model = load_for_serving("cross", source, None, max_length, runtime.device, backend, int8)
    reranked = rerank_top_k(model, search, rankings, k, batch_size, runtime.dtype)  # type: ignore[arg-type]
    return {"label": label, "source": source, "kind": "cross", "reranks": bi_label, "k": k,
            "scores": mean_metrics(score_rankings(search, reranked))}


def rerank_pairs(chosen: Sequence[tuple[str, str, str]]) -> list[tuple[int, int]]:
    """(cross, bi) positions in `chosen`: a cross-encoder reranks the bi-encoder of its run folder and member ('run
    cross' beside 'run bi'); models given on their own form one group, each cross reranking each bi."""
    group = lambda label, kind: label[:-len(kind) - 1] if label.endswith(f" {kind}") else ""  # noqa: E731
    return [(c, b) for c, (cross, _, kind_c) in enumerate(chosen) for b, (bi, _, kind_b) in enumerate(chosen)
            if (kind_c, kind_b) == ("cross", "bi") and group(cross, "cross") == group(bi, "bi")]


def search_results(chosen: Sequence[tuple[str, str, str]], search: RetrievalTask, k: int | None,
                   pooling: str | None, max_length: int, batch_size: int, device: str,
                   precision: str, backend: str = "torch", int8: bool = False) -> list[dict[str, Any]]:
    """Every bi-encoder's search scores, then (with `k`) every cross-encoder reranking its group's bi-encoders."""
    bis = {b: retrieve_with(label, source, search, pooling, max_length, batch_size, device, precision, backend, int8)
           for b, (label, source, kind) in enumerate(chosen) if kind == "bi"}
    results = [result for result, _ in bis.values()]
    for c, b in rerank_pairs(chosen) if k else ():
        label, source, _ = chosen[c]
        results.append(rerank_with(label, source, chosen[b][0], bis[b][1], search, k, max_length, batch_size, device,
                                   precision, backend, int8))
    return results


@flow(name="evaluate", log_prints=True)
def evaluate_models(models: list[str], kind: str = "auto", data_dir: str | None = None,
                    tasks: list[str] | None = None, pairs: str | None = None, label_column: str = "label",
                    text_a: str = "sentence1", text_b: str = "sentence2", encoding: str = "utf-8",
                    retrieval: str | None = None, rerank: int | None = None, skip_sts: bool = False,
                    pooling: str | None = None, max_length: int = 256, batch_size: int = 128,
                    device: str = "auto", precision: str = "auto", backend: str = "torch", int8: bool = False,
                    out: str = "evaluation.json") -> dict[str, Any]:
    """Every input is read and checked before the first model is scored."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
    chosen = expand_models(models, kind)
    user_pairs = load_labelled_pairs(Path(pairs), text_a, text_b, label_column, encoding) if pairs else None
    folder = benchmark_dir(data_dir)
    search = load_task(retrieval, text_a, text_b, label_column, encoding) if retrieval else None
    test_sets, dev = _benchmarks(folder, tasks, skip_sts)
    scored = chosen if test_sets or dev or user_pairs else []
    results = [score_model(label, source, k, test_sets, dev, user_pairs, pooling, max_length, batch_size,
                           device, precision, backend, int8)
               for label, source, k in track(scored, len(scored), "models")]
    report: dict[str, Any] = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                              "machine": platform.node(), "data_dir": str(folder or "hub"), "max_length": max_length,
                              "backend": backend, "int8": int8,
                              "results": results}
    if search is not None:
        report["retrieval"] = {"task": str(retrieval), "queries": len(search.query_ids),
                               "documents": len(search.doc_ids), "rerank": rerank,
                               "results": search_results(chosen, search, rerank, pooling, max_length, batch_size,
                                                         device, precision, backend, int8)}
    write_text_atomic(Path(out), json.dumps(report, indent=2) + "\n")
    _publish(results, out, report.get("retrieval"))
    return report


def _benchmarks(folder: Path | None, tasks: list[str] | None,
                skip_sts: bool) -> tuple[dict[str, LabelledPairs], LabelledPairs | None]:
    if skip_sts:
        return {}, None
    chosen = tasks or [*TEST_SETS, DEV]
    unknown = set(chosen) - {*TEST_SETS, DEV}
    if unknown:
        raise ValueError(f"unknown task(s) {sorted(unknown)}; choose from {', '.join([*TEST_SETS, DEV])}")
    test_sets, dev = load_benchmarks(folder)
    return {name: pairs for name, pairs in test_sets.items() if name in chosen}, dev if DEV in chosen else None


def _publish(results: list[dict[str, Any]], out: str, search: dict[str, Any] | None = None) -> None:
    rows = [(f"{r['label']} ({r['kind']})", r["scores"]) for r in results if r["scores"]]
    if rows:
        print(text_table(rows))
        create_table_artifact(table_records(rows), key="sts-evaluation",
                              description="Spearman x100 on the STS test sets and STS-B dev")
    own = [r for r in results if "pairs" in r]
    if own:
        lines = [f"{r['label']} ({r['kind']}): {r['pairs']['metric']} {r['pairs']['value']:.2f} "
                 f"on {r['pairs']['pairs']} pairs of {r['pairs']['file']}" for r in own]
        print("\n".join(lines))
        create_table_artifact([{"model": r["label"], "kind": r["kind"], **r["pairs"]} for r in own],
                              key="pairs-evaluation", description="Scores on the user's labelled pairs")
    if search is not None:
        rows = [(f"{r['label']} (cross reranks {r['reranks']} top {r['k']})" if "reranks" in r else
                 f"{r['label']} (bi)", r["scores"]) for r in search["results"]]
        print(f"search: {search['queries']} queries, {search['documents']} documents of {search['task']}")
        print(text_table(rows))
        create_table_artifact(table_records(rows), key="retrieval-evaluation",
                              description=f"nDCG@10, MRR@10, Recall@10 and Recall@100 x100 on {search['task']}")
    print(f"wrote {out}")


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> dict[str, Any]:
    args = evaluate_parser(prog).parse_args(argv)
    if args.skip_sts and not (args.pairs or args.retrieval):
        evaluate_parser(prog).error("--skip-sts leaves nothing to score; give --pairs FILE or --retrieval DIR")
    if args.rerank is not None and (not args.retrieval or args.rerank < 1):
        evaluate_parser(prog).error("--rerank K needs --retrieval DIR and K of at least 1")
    with input_errors():  # the benchmarks, every model named and the pair file, checked before the flow starts
        check_runtime(args.device, args.precision)
        check_sts_at_hand(args.data_dir, [] if args.skip_sts else ["the STS benchmarks"],
                          "--pairs FILE or --retrieval DIR, with --skip-sts (your own data)")
        for model in args.models:
            if not (Path(model) / "manifest.json").is_file():
                check_model_reachable(model)
        expand_models(args.models, args.kind)
        if args.pairs:
            load_labelled_pairs(Path(args.pairs), args.text_a, args.text_b, args.label_column, args.encoding)
        if args.retrieval:
            load_task(args.retrieval, args.text_a, args.text_b, args.label_column, args.encoding)
    with scoped_api():
        return evaluate_models(**vars(args))


if __name__ == "__main__":
    main()
