"""warmup: the start model warmed up label-free on the pool's sentences (a copy of it with `--warmup none`)."""
from __future__ import annotations

from artifacts.atomic import atomic_path
from artifacts.pairs import read_pool
from models.encoders.loading import load_bi
from models.warmup import warm_up
from pipeline.stage import Kind, Metrics, Stage, StageContext, Writes


def run(context: StageContext) -> Metrics:
    config = context.config
    frame = read_pool(context.input_path("pool"))
    bi = load_bi(config.model, config)
    stats = warm_up(bi, [*frame["text_a"], *frame["text_b"]], config, context.runtime, context.progress)
    with atomic_path(context.target, is_dir=True) as temp:
        bi.save(temp)
    return stats.to_dict() if stats else {"skipped": "warmup none"}


STAGE = Stage("warmup", run, Kind.TRAINING, Writes.FOLDER, inputs=("pool", "model"),
              settings=("pooling", "warmup", "warmup_sentences", "warmup_lr", "warmup_batch_size", "warmup_epochs",
                        "warmup_max_length", "warmup_temperature", "mirror_span", "bi_max_length", "max_steps",
                        "weight_decay", "seed", "precision", "device"))
