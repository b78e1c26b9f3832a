"""average-labels: mutual distillation's teacher, the mean of every scorer's labels, each scorer kept as a column."""
from __future__ import annotations

from artifacts.pairs import read_labelled, write_labelled
from models.training.labels import average_labels
from pipeline.stage import Kind, Metrics, Stage, StageContext, Writes
from pipeline.stages.shared import label_stats


def run(context: StageContext) -> Metrics:
    frames = {name: read_labelled(context.input_path(name)) for name in context.inputs}
    first = next(iter(frames.values()))
    for name, frame in frames.items():
        if not (frame["text_a"].equals(first["text_a"]) and frame["text_b"].equals(first["text_b"])):
            raise ValueError(f"labels of {name} are not over the same pairs as the others")
    columns = {name: frame["label"].to_numpy() for name, frame in frames.items()}
    labels = average_labels(list(columns.values()))
    write_labelled(context.target, first, labels, "mean of " + ", ".join(columns), context.cycle or 0,
                   str(first["label_transform"].iloc[0]), scorers=columns)
    return label_stats(labels) | {"scorers": list(columns)}


STAGE = Stage("average-labels", run, Kind.COMBINING, Writes.PARQUET, inputs=None, settings=())
