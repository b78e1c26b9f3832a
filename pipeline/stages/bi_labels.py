"""bi-labels: the pool's pairs scored by a bi-encoder's cosines (a member's latest, or a frozen labeller)."""
from __future__ import annotations

from artifacts.pairs import write_labelled
from models.encoders.embedding_cache import cache_root
from models.encoders.loading import load_bi
from models.training.distillation import label_with_bi
from models.training.labels import transform_labels
from pipeline.stage import Kind, Metrics, Stage, StageContext, Writes
from pipeline.stages.shared import label_stats, pool_rows


def run(context: StageContext) -> Metrics:
    """A shard stores its cosines raw: a transform such as minmax needs the whole pool, so the merge applies it."""
    config, frame = context.config, pool_rows(context)
    bi = load_bi(context.input_path("bi"), config)
    # a model no stage trained (cycle None: a frozen labeller) keeps its embeddings in the machine's cache
    bi.embedding_cache = cache_root() if config.embedding_cache and context.cycle is None else None
    cosine = label_with_bi(bi, frame["text_a"].tolist(), frame["text_b"].tolist(), config, context.runtime,
                           context.progress)
    transform = "raw" if context.params.rows else config.label_transform
    labels = transform_labels(cosine, transform)
    write_labelled(context.target, frame, labels, "bi-encoder", context.cycle or 0, transform)
    return label_stats(labels)


STAGE = Stage("bi-labels", run, Kind.LABELLING, Writes.PARQUET, inputs=("bi", "pool"),
              settings=("pooling", "bi_max_length", "label_transform", "label_int8", "backend", "precision", "device"))
