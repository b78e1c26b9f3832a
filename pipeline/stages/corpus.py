"""corpus: the user's texts, read, tidied and deduplicated (the evaluation sets checked too) before any long work;
the mining stage builds the pair pool from them."""
from __future__ import annotations

from pathlib import Path

from artifacts.pairs import stored_metrics, write_corpus
from artifacts.store import Artifact
from models.config import PipelineConfig
from models.data import evaluation_sets
from models.data.corpus import load_corpus
from pipeline.stage import Kind, Metrics, Stage, StageContext, Writes


def read_run_corpus(config: PipelineConfig) -> tuple[list[str], Metrics]:
    return load_corpus(config.corpus_path, config.text, config.strict, config.encoding)


def run(context: StageContext) -> Metrics:
    texts, tidy = read_run_corpus(context.config)
    evaluation_sets(context.config)
    write_corpus(context.target, texts, tidy)
    return tidy


def corpus_size(config: PipelineConfig) -> Metrics:
    """The distinct texts the corpus will have, for a plan (mining is split by them) made before the stage runs."""
    return {"texts": read_run_corpus(config)[1]["texts"]}


def stored(artifact: Artifact) -> Metrics:
    return stored_metrics(Path(artifact.path))


STAGE = Stage("corpus", run, Kind.DATA, Writes.PARQUET, inputs=(),
              settings=("pool", "corpus_path", "text", "encoding", "strict"),
              stored_metrics=stored, planned_metrics=corpus_size)
