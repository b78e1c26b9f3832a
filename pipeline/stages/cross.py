"""cross: a cross-encoder fitted to the averaged bi -> cross labels (bi -> cross)."""
from __future__ import annotations

from models.encoders.cross_encoder import CrossEncoder
from models.training.distillation import fit_cross_encoder
from pipeline.stage import Kind, Metrics, Stage, StageContext, Writes
from pipeline.stages.shared import train_on_labels


def run(context: StageContext) -> Metrics:
    start = CrossEncoder.from_pretrained(context.input_path("start"), max_length=context.config.cross_max_length)
    return train_on_labels(context, start, fit_cross_encoder)


STAGE = Stage("cross", run, Kind.TRAINING, Writes.FOLDER, inputs=("start", "labels"),
              settings=("cross_lr", "cross_head_lr", "cross_batch_size", "cross_epochs", "cross_max_length",
                        "cross_warmup_ratio", "weight_decay", "micro_batch", "max_steps", "seed", "precision",
                        "device"))
