"""ensemble-scores: several models' stored predictions averaged, and scored like one model."""
from __future__ import annotations

import numpy as np

from artifacts.pairs import read_predictions, write_predictions
from models.metrics import scores_of
from pipeline.stage import Kind, Metrics, Stage, StageContext, Writes
from pipeline.stages.shared import by_set, stored_scores


def run(context: StageContext) -> Metrics:
    frames = [read_predictions(context.input_path(name)) for name in context.inputs]
    mean = frames[0].assign(prediction=np.mean([frame["prediction"].to_numpy() for frame in frames], axis=0))
    predictions, golds = by_set(mean)
    write_predictions(context.target, predictions, golds)
    return scores_of(predictions, golds)


STAGE = Stage("ensemble-scores", run, Kind.COMBINING, Writes.PARQUET, inputs=None, settings=(),
              stored_metrics=stored_scores)
