"""cross-labels: the pool's pairs scored by a cross-encoder (a member's, or a frozen labeller)."""
from __future__ import annotations

from artifacts.pairs import write_labelled
from models.encoders.cross_encoder import CrossEncoder
from models.training.distillation import label_with_cross
from pipeline.stage import Kind, Metrics, Stage, StageContext, Writes
from pipeline.stages.shared import label_stats, pool_rows


def run(context: StageContext) -> Metrics:
    config, frame = context.config, pool_rows(context)
    cross = CrossEncoder.from_pretrained(context.input_path("cross"), max_length=config.cross_max_length)
    labels = label_with_cross(cross, frame["text_a"].tolist(), frame["text_b"].tolist(), config, context.runtime,
                              context.progress)
    write_labelled(context.target, frame, labels, "cross-encoder", context.cycle or 0,
                   "sigmoid-symmetric" if config.symmetric else "sigmoid")
    return label_stats(labels)


STAGE = Stage("cross-labels", run, Kind.LABELLING, Writes.PARQUET, inputs=("cross", "pool"),
              settings=("cross_max_length", "symmetric", "label_int8", "backend", "precision", "device"))
