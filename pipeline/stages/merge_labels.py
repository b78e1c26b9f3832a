"""merge-labels: the shards of one pool labelling, joined in row order into the artifact the unsharded stage
writes."""
from __future__ import annotations

import pandas as pd

from artifacts.pairs import read_labelled, write_labelled
from models.training.labels import transform_labels
from pipeline.stage import Kind, Metrics, Stage, StageContext, Writes
from pipeline.stages.shared import label_stats


def run(context: StageContext) -> Metrics:
    frame = pd.concat([read_labelled(context.input_path(name)) for name in context.inputs], ignore_index=True)
    labels, transform = frame["label"].to_numpy(), str(frame["label_transform"].iloc[0])
    if context.params.labelling == "bi-labels":  # bi shards store raw cosines: the transform needs the whole pool
        labels, transform = transform_labels(labels, context.config.label_transform), context.config.label_transform
    write_labelled(context.target, frame, labels, str(frame["labelled_by"].iloc[0]), context.cycle or 0, transform)
    return label_stats(labels) | {"shards": len(context.inputs)}


STAGE = Stage("merge-labels", run, Kind.COMBINING, Writes.PARQUET, inputs=None, settings=("label_transform",))
