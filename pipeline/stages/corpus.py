"""corpus: the user's texts, read, tidied and deduplicated (the evaluation sets checked too) before any long work;
the mining stage builds the pair pool from them."""
from __future__ import annotations

from artifacts.pairs import write_corpus
from models.config import PipelineConfig
from models.data import evaluation_sets
from models.data.corpus import load_run_corpus
from pipeline.stage import Kind, Metrics, Stage, StageContext, Writes
from pipeline.stages.shared import stored_file_metrics


def run(context: StageContext) -> Metrics:
    texts, tidy = load_run_corpus(context.config)
    evaluation_sets(context.config)
    write_corpus(context.target, texts, tidy)
    return tidy


def corpus_size(config: PipelineConfig) -> Metrics:
    """The distinct texts the corpus will have, for a plan (mining is split by them) made before the stage runs."""
    return {"texts": load_run_corpus(config)[1]["texts"]}


STAGE = Stage("corpus", run, Kind.DATA, Writes.PARQUET, inputs=(),
              settings=("pool", "corpus_path", "text", "encoding", "strict"),
              stored_metrics=stored_file_metrics, planned_metrics=corpus_size)
