"""corpus-embeddings: every corpus text embedded by one start bi-encoder (a member's, or a frozen bi-encoder
labeller's), for the neighbour search that mines the pool."""
from __future__ import annotations

from artifacts.pairs import read_corpus, write_embeddings
from models.encoders.embedding_cache import cache_root
from models.encoders.loading import load_bi
from models.training.distillation import for_labelling
from pipeline.stage import Kind, Metrics, Stage, StageContext, Writes


def run(context: StageContext) -> Metrics:
    """Encoded as bi-labels encodes (same length, precision and int8 choice), through the machine's embedding cache:
    no stage trains a start model, so a frozen labeller's later pool labels read these vectors back."""
    config, runtime = context.config, context.runtime
    texts = read_corpus(context.input_path("corpus"))
    bi = load_bi(context.input_path("model"), config)
    bi.embedding_cache = cache_root() if config.embedding_cache else None
    bi = for_labelling(bi.to(runtime.device), config)
    embeddings, _ = bi.embed_distinct(texts, config.eval_batch_size, runtime.dtype, context.progress)
    write_embeddings(context.target, embeddings)
    return {"texts": len(texts), "dimension": int(embeddings.shape[1])}


STAGE = Stage("corpus-embeddings", run, Kind.LABELLING, Writes.PARQUET, inputs=("corpus", "model"),
              settings=("pooling", "bi_max_length", "label_int8", "backend", "precision", "device"))
