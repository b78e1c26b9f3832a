"""Which runtime computes a loaded encoder, and at what precision: PyTorch (fp32) or ONNX Runtime on the model's
exported graph (fp32, or the graph quantised to int8: the one int8 path, for labelling and serving).

Serving (`score`, `evaluate`) reads the graphs a run exported beside the weights; pool labelling, whose models
live only in the store, exports them on the fly. Either way the encoders' own tokenising, token-sorted batching,
pooling and caching are kept: only the transformer's forward pass moves.
"""
from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any, TypeVar

import torch

from models.config import PipelineConfig
from models.encoders.bi_encoder import BiEncoder
from models.encoders.cross_encoder import CrossEncoder
from models.encoders.loading import load_encoder
from models.encoders.onnx_graph import BACKENDS, ONNX_MISSING, OnnxGraph, export_graph, graph_file, onnx_available
from models.encoders.sources import resolve_model_source

Encoder = TypeVar("Encoder", BiEncoder, CrossEncoder)
# Dynamic int8 quantisations of a graph, measured on STS-B dev by `python -m benchmarks.int8_labels` (INT8.md)
INT8_RECIPES: dict[str, dict[str, Any]] = {
    "per-tensor": {"per_channel": False, "reduce_range": False, "fp32_after": frozenset()},
    "per-channel": {"per_channel": True, "reduce_range": False, "fp32_after": frozenset()},
    "per-channel, 7-bit": {"per_channel": True, "reduce_range": True, "fp32_after": frozenset()},
    "per-channel, FFN output fp32": {"per_channel": True, "reduce_range": False, "fp32_after": frozenset({"Gelu"})},
    "per-channel, 7-bit, FFN output fp32": {"per_channel": True, "reduce_range": True,
                                            "fp32_after": frozenset({"Gelu"})},
}
INT8_RECIPE = "per-channel"


def export_onnx(model: BiEncoder | CrossEncoder, folder: Path) -> list[Path]:
    """Write `folder/onnx/model.onnx` and its int8 version, in sentence-transformers' ONNX layout."""
    fp32 = export_fp32(model, graph_file(folder, False))
    return [fp32, quantise_graph(fp32, graph_file(folder, True))]


def export_fp32(model: BiEncoder | CrossEncoder, target: Path) -> Path:
    """The model's fp32 graph: a bi-encoder's gives token features (its pooling stays in the folder's modules), a
    cross-encoder's its logit."""
    if isinstance(model, BiEncoder):
        if model.ngram is not None:
            raise ValueError("an IS-BERT bi-encoder's n-gram CNN is its own module: it has no ONNX export")
        return export_graph(model.transformer, model.tokenizer, "last_hidden_state", target)
    return export_graph(model.model, model.tokenizer, "logits", target, pair=True)


def onnx_exported(config: PipelineConfig, model: BiEncoder | CrossEncoder) -> bool:
    """Whether a run's export of `model` carries ONNX graphs: asked for, the extra installed, and a transformer only
    (IS-BERT's n-gram CNN runs after the transformer as its own module)."""
    return config.onnx_export and onnx_available() and not (isinstance(model, BiEncoder) and model.ngram is not None)


def quantise_graph(fp32: Path, int8: Path, recipe: str | None = None) -> Path:
    """The graph with its weight matrix products in int8 (activations quantised per batch), by `recipe`."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    options = INT8_RECIPES[recipe or INT8_RECIPE]
    keep = _fed_by(fp32, options["fp32_after"]) if options["fp32_after"] else []
    quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8, per_channel=options["per_channel"],
                     reduce_range=options["reduce_range"], nodes_to_exclude=keep, op_types_to_quantize=["MatMul"])
    return int8


def _fed_by(graph: Path, producers: frozenset[str]) -> list[str]:
    """The weight products (MatMul by a stored matrix) whose input comes from one of these op types: e.g. the
    feed-forward output layer, fed by GELU, whose inputs have the outliers int8 clips."""
    import onnx

    model = onnx.load(str(graph), load_external_data=False)
    made_by = {output: node.op_type for node in model.graph.node for output in node.output}
    weights = {stored.name for stored in model.graph.initializer}
    return [node.name for node in model.graph.node if node.op_type == "MatMul" and node.input[1] in weights
            and made_by.get(node.input[0]) in producers]


def with_backend(model: Encoder, backend: str, int8: bool, folder: Path | None = None) -> Encoder:
    """`model` as `backend` computes it: itself for torch fp32, else a copy sharing its weights. `int8` is always the
    graph quantised by INT8_RECIPE on ONNX Runtime (it kept STS-B dev within 0.3 points for every model measured;
    PyTorch's dynamic int8 lost up to 2.9). The graph is the one in `folder` when it has one, else exported now (a
    model from the store, or a folder exported without ONNX). The copy caches no vectors: they are not the model's."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "torch" and not int8:
        return model
    if not onnx_available():
        raise ValueError(ONNX_MISSING)
    if model.device.type != "cpu":
        raise ValueError(f"ONNX Runtime and int8 run on the CPU; the model is on {model.device}: add --device cpu")
    served = copy.copy(model)  # the same weights; the model given stays a torch model (training uses it after)
    stored = graph_file(folder, int8) if folder is not None else None
    if stored is not None and stored.is_file():
        served.graph = OnnxGraph(stored)
    else:
        with tempfile.TemporaryDirectory(prefix="te-onnx-") as temp:  # the session holds the graph in memory
            graph = export_fp32(model, graph_file(Path(temp), False))
            served.graph = OnnxGraph(quantise_graph(graph, graph_file(Path(temp), True)) if int8 else graph)
    if isinstance(served, BiEncoder):
        served.embedding_cache = None
    return served


def load_for_serving(kind: str, source: str | Path, pooling: str | None, max_length: int, device: torch.device,
                     backend: str = "torch", int8: bool = False) -> BiEncoder | CrossEncoder:
    """A model folder (or installed name, or hub id) loaded on `device` and computed by `backend`."""
    folder = resolve_model_source(source)
    model = load_encoder(kind, folder, pooling, max_length).to(device)
    return with_backend(model, backend, int8, Path(folder))
