"""pool: the run's unlabelled pairs as Parquet, read (and the evaluation sets checked) before any long work."""
from __future__ import annotations

from artifacts.pairs import write_pool
from models.config import PipelineConfig
from models.data import evaluation_sets, load_run_pool
from pipeline.stage import Kind, Metrics, Stage, StageContext, Writes
from pipeline.stages.shared import stored_pairs


def run(context: StageContext) -> Metrics:
    pool = load_run_pool(context.config)
    evaluation_sets(context.config)
    write_pool(context.target, pool)
    return {"pairs": len(pool), **pool.attrs.get("tidy", {})}


def pool_size(config: PipelineConfig) -> Metrics:
    """The pairs the pool will have, for a plan (sharding splits by it) made before the stage runs."""
    return {"pairs": len(load_run_pool(config))}


STAGE = Stage("pool", run, Kind.DATA, Writes.PARQUET, inputs=(),
              settings=("pool", "pool_path", "text_a", "text_b", "encoding", "max_pairs", "seed", "strict"),
              stored_metrics=stored_pairs, planned_metrics=pool_size)
