"""scores: one model on the 7 STS test sets and STS-B dev (Spearman x100) and the user's --dev-pairs (Spearman
or ROC-AUC); every pair's prediction is stored, for ensembles."""
from __future__ import annotations

from artifacts.pairs import write_predictions
from models.data import evaluation_sets
from models.encoders.bi_encoder import BiEncoder
from models.encoders.embedding_cache import cache_root
from models.encoders.loading import load_encoder, start_pooling
from models.evaluation import predict_sets
from models.metrics import scores_of
from pipeline.stage import Kind, Metrics, Stage, StageContext, Writes
from pipeline.stages.shared import stored_scores


def run(context: StageContext) -> Metrics:
    config, kind = context.config, context.params.kind
    assert kind is not None, "a scores call names the model kind"
    sets = evaluation_sets(config)
    model = load_encoder(kind, context.input_path("model"), start_pooling(config), config.eval_max_length)
    if isinstance(model, BiEncoder):  # a start model (cycle None), which no stage trains, uses the machine's cache
        model.embedding_cache = cache_root() if config.embedding_cache and context.cycle is None else None
    predictions = predict_sets(model, sets, context.runtime, config.eval_batch_size, context.progress)
    golds = {name: pairs.scores for name, pairs in sets.items()}
    write_predictions(context.target, predictions, golds)
    return scores_of(predictions, golds)


STAGE = Stage("scores", run, Kind.SCORING, Writes.PARQUET, inputs=("model",),
              settings=("pooling", "eval_max_length", "eval", "label_column", "text_a", "text_b", "encoding",
                        "precision", "device"),
              stored_metrics=stored_scores)
