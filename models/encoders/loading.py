"""Loading a model folder (or installed name, or hub id) as the bi- or cross-encoder a stage or command needs."""
from __future__ import annotations

from pathlib import Path

from models.config import PipelineConfig
from models.encoders.bi_encoder import BiEncoder
from models.encoders.cross_encoder import CrossEncoder
from models.encoders.sources import pooling_of, resolve_model_source


def start_pooling(config: PipelineConfig) -> str:
    """The bi-encoder pooling of the whole run: the setting, else the start folder's own, else CLS (a folder with
    IS-BERT's n-gram CNN always mean-pools: BiEncoder.from_pretrained)."""
    return config.pooling or pooling_of(resolve_model_source(config.model)) or "cls"


def load_bi(folder: str | Path, config: PipelineConfig) -> BiEncoder:
    """A bi-encoder in the run's pooling, reading sentences up to `bi_max_length` tokens (training, labelling)."""
    return BiEncoder.from_pretrained(folder, pooling=start_pooling(config), max_length=config.bi_max_length)


def load_encoder(kind: str, source: str | Path, pooling: str | None, max_length: int) -> BiEncoder | CrossEncoder:
    """A bi-encoder (`kind="bi"`) or cross-encoder (`kind="cross"`) that reads up to `max_length` tokens."""
    if kind == "bi":
        return BiEncoder.from_pretrained(source, pooling=pooling, max_length=max_length)  # type: ignore[arg-type]
    if kind == "cross":
        return CrossEncoder.from_pretrained(source, max_length=max_length)
    raise ValueError(f"kind must be 'bi' or 'cross', got {kind!r}")
