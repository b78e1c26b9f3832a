"""Search evaluation: a bi-encoder ranks a corpus for each query (exact top 100), a cross-encoder may rerank each
query's top K, and the rankings are scored as BEIR scores them (pytrec_eval's definitions).

The STS scores say how well a model grades pairs; these say how well it finds the relevant text among thousands,
what a bi-encoder is exported for. Tasks are read by models/data/retrieval_task.py;
`python -m models.retrieval make-task PAIRS.csv OUT_DIR` writes one made from labelled pairs in BEIR layout.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from models.data.errors import DataError
from models.data.retrieval_task import RetrievalTask, task_from_pairs, write_beir
from models.encoders.bi_encoder import BiEncoder
from models.encoders.cross_encoder import CrossEncoder
from models.metrics import MRR10, NDCG10, RECALL10, RECALL100, RETRIEVAL_METRICS
from models.progress import ProgressFn
from models.search import top_k

DEPTH = 100  # documents ranked per query: Recall@100 needs them all


def query_metrics(ranking: Sequence[str], relevant: Mapping[str, int]) -> dict[str, float]:
    """One query's nDCG@10 (gain = grade, log2 discount, ideal DCG from its judgements), MRR@10 and Recall@10/100
    (the share of its relevant documents in the top k), each x100."""
    gains = [relevant.get(doc, 0) for doc in ranking]
    ideal = sorted(relevant.values(), reverse=True)
    dcg = lambda values: sum(gain / math.log2(rank + 2) for rank, gain in enumerate(values[:10]))  # noqa: E731
    first_hit = next((rank for rank, gain in enumerate(gains[:10]) if gain > 0), None)
    found = lambda k: sum(gain > 0 for gain in gains[:k]) / len(relevant)  # noqa: E731
    return {NDCG10: 100 * dcg(gains) / dcg(ideal), MRR10: 0.0 if first_hit is None else 100 / (first_hit + 1),
            RECALL10: 100 * found(10), RECALL100: 100 * found(100)}


def score_rankings(task: RetrievalTask, rankings: Sequence[Sequence[str]]) -> pd.DataFrame:
    """One row per query: its id, its ranking (best first) and its metrics."""
    rows = [{"query_id": query, "ranking": list(ranking), **query_metrics(ranking, task.relevant(query))}
            for query, ranking in zip(task.query_ids, rankings)]
    return pd.DataFrame(rows, columns=["query_id", "ranking", *RETRIEVAL_METRICS])


def mean_metrics(rows: pd.DataFrame) -> dict[str, float]:
    """Each metric averaged over the queries (what a table shows)."""
    return {name: float(rows[name].mean()) for name in RETRIEVAL_METRICS}


def retrieve(model: BiEncoder, task: RetrievalTask, batch_size: int = 128, dtype: torch.dtype | None = None,
             progress: ProgressFn | None = None, depth: int = DEPTH) -> list[list[str]]:
    """Each query's `depth` best documents by cosine, best first, its own id left out (BEIR's identical-id rule).
    Texts both a query and a document (a task made from pairs) are encoded once."""
    embeddings, row = model.embed_distinct([*task.doc_texts, *task.query_texts], batch_size, dtype, progress)
    documents = embeddings[[row[text] for text in task.doc_texts]]
    queries = embeddings[[row[text] for text in task.query_texts]]
    indices, _ = top_k(queries, documents, depth + 1, progress=progress, desc="retrieval")
    return [[task.doc_ids[i] for i in found if task.doc_ids[i] != query][:depth]
            for query, found in zip(task.query_ids, indices)]


def rerank(model: CrossEncoder, task: RetrievalTask, rankings: Sequence[Sequence[str]], k: int, batch_size: int = 128,
           dtype: torch.dtype | None = None, progress: ProgressFn | None = None) -> list[list[str]]:
    """Each query's top `k` reordered by the cross-encoder's (query, document) score; the rest keep their order
    below them. All pairs are scored in one call, so batches are full."""
    documents = dict(zip(task.doc_ids, task.doc_texts))
    heads = [list(ranking[:k]) for ranking in rankings]
    texts_a = [text for text, head in zip(task.query_texts, heads) for _ in head]
    texts_b = [documents[doc] for head in heads for doc in head]
    scores = model.score(texts_a, texts_b, False, batch_size, dtype, progress)
    reranked, start = [], 0
    for head, ranking in zip(heads, rankings):
        order = np.argsort(-scores[start:start + len(head)], kind="stable")
        reranked.append([head[i] for i in order] + list(ranking[k:]))
        start += len(head)
    return reranked


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m models.retrieval",
                                     description="Retrieval tasks: make-task turns a pair file with 0/1 labels "
                                                 "into a BEIR folder (each positive pair: a query and its answer).")
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("make-task", help="write a labelled pair file as a BEIR folder",
                               formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    make.add_argument("pairs", type=Path, help=".csv, .tsv, .parquet or .jsonl with two text columns and 0/1 labels")
    make.add_argument("out", type=Path, help="the folder to write (corpus.jsonl, queries.jsonl, qrels/test.tsv)")
    make.add_argument("--text-a", default="sentence1", help="the query column")
    make.add_argument("--text-b", default="sentence2", help="the relevant-text column")
    make.add_argument("--label-column", default="label", help="1: text-b answers text-a; 0: a distractor")
    make.add_argument("--encoding", default="utf-8", help="text encoding of a .csv/.tsv/.jsonl file")
    args = parser.parse_args(argv)
    try:
        task = task_from_pairs(args.pairs, args.text_a, args.text_b, args.label_column, args.encoding)
    except DataError as error:  # one line and exit 2, as every command's bad input
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    write_beir(task, args.out)
    print(f"wrote {args.out}: {len(task.query_ids)} queries, {len(task.doc_ids)} documents")


if __name__ == "__main__":
    main()
