"""bi: a bi-encoder distilled from the averaged cross -> bi labels (cross -> bi)."""
from __future__ import annotations

from models.encoders.loading import load_bi
from models.training.distillation import distil_bi_encoder
from pipeline.stage import Kind, Metrics, Stage, StageContext, Writes
from pipeline.stages.shared import train_on_labels


def run(context: StageContext) -> Metrics:
    return train_on_labels(context, load_bi(context.input_path("start"), context.config), distil_bi_encoder)


STAGE = Stage("bi", run, Kind.TRAINING, Writes.FOLDER, inputs=("start", "labels"),
              settings=("pooling", "bi_lr", "bi_batch_size", "bi_epochs", "bi_max_length", "bi_warmup_ratio",
                        "bi_loss", "weight_decay", "micro_batch", "max_steps", "seed", "precision", "device"))
