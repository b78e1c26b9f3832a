"""Which runtime computes a loaded encoder, and at what precision: PyTorch (fp32; int8 by torch's dynamic
quantisation) or ONNX Runtime on the model's exported graph (fp32, or the graph quantised to int8).

Serving (`score`, `evaluate`) reads the graphs a run exported beside the weights; pool labelling, whose models
live only in the store, exports them on the fly. Either way the encoders' own tokenising, token-sorted batching,
pooling and caching are kept: only the transformer's forward pass moves.
"""
from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import TypeVar

import torch
from torch import nn

from models.config import PipelineConfig
from models.encoders.bi_encoder import BiEncoder
from models.encoders.cross_encoder import CrossEncoder
from models.encoders.loading import load_encoder
from models.encoders.onnx_graph import BACKENDS, ONNX_MISSING, OnnxGraph, export_graph, graph_file, onnx_available
from models.encoders.sources import resolve_model_source

Encoder = TypeVar("Encoder", BiEncoder, CrossEncoder)


def export_onnx(model: BiEncoder | CrossEncoder, folder: Path) -> list[Path]:
    """Write `folder/onnx/model.onnx` and its int8 version, in sentence-transformers' ONNX layout: a bi-encoder's
    graph gives token features (its pooling stays in the folder's modules), a cross-encoder's its logit."""
    if isinstance(model, BiEncoder):
        if model.ngram is not None:
            raise ValueError("an IS-BERT bi-encoder's n-gram CNN is its own module: it has no ONNX export")
        fp32 = export_graph(model.transformer, model.tokenizer, "last_hidden_state", graph_file(folder, False))
    else:
        fp32 = export_graph(model.model, model.tokenizer, "logits", graph_file(folder, False), pair=True)
    return [fp32, quantise_graph(fp32, graph_file(folder, True))]


def onnx_exported(config: PipelineConfig, model: BiEncoder | CrossEncoder) -> bool:
    """Whether a run's export of `model` carries ONNX graphs: asked for, the extra installed, and a transformer only
    (IS-BERT's n-gram CNN runs after the transformer as its own module)."""
    return config.onnx_export and onnx_available() and not (isinstance(model, BiEncoder) and model.ngram is not None)


def quantise_graph(fp32: Path, int8: Path) -> Path:
    """The graph with its matrix products in int8: weights per output channel, activations per batch (dynamic)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8, per_channel=True)
    return int8


def with_backend(model: Encoder, backend: str, int8: bool, folder: Path | None = None) -> Encoder:
    """`model` as `backend` computes it. ONNX: the graph in `folder` when it has one, else exported now (a model
    from the store, or a folder exported without ONNX). A model computed otherwise than in full-precision torch
    caches no vectors: its vectors are not the model's own."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "torch":
        return _torch_int8(model) if int8 else model
    if not onnx_available():
        raise ValueError(ONNX_MISSING)
    if model.device.type != "cpu":
        raise ValueError(f"--backend onnx runs on the CPU; the model is on {model.device}: add --device cpu")
    stored = graph_file(folder, int8) if folder is not None else None
    if stored is not None and stored.is_file():
        model.graph = OnnxGraph(stored)
    else:
        with tempfile.TemporaryDirectory(prefix="te-onnx-") as temp:
            model.graph = OnnxGraph(export_onnx(model, Path(temp))[int8])  # the session holds the graph in memory
    if isinstance(model, BiEncoder):
        model.embedding_cache = None
    return model


def _torch_int8(model: Encoder) -> Encoder:
    """A copy whose linear layers compute in int8 (weights int8, activations quantised per batch)."""
    if model.device.type != "cpu":
        raise ValueError(f"int8 runs on the CPU; the model is on {model.device}: add --device cpu")
    with warnings.catch_warnings():  # torch marks eager quantisation deprecated in favour of torchao (not installed)
        warnings.simplefilter("ignore")
        quantised = torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    if isinstance(quantised, BiEncoder):
        quantised.embedding_cache = None
    return quantised


def load_for_serving(kind: str, source: str | Path, pooling: str | None, max_length: int, device: torch.device,
                     backend: str = "torch", int8: bool = False) -> BiEncoder | CrossEncoder:
    """A model folder (or installed name, or hub id) loaded on `device` and computed by `backend`."""
    folder = resolve_model_source(source)
    model = load_encoder(kind, folder, pooling, max_length).to(device)
    return with_backend(model, backend, int8, Path(folder))
