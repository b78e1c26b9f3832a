"""Our encoders on ONNX Runtime: the transformer (a bi-encoder's token features, a cross-encoder's logit) exported
as an ONNX graph and run there, while tokenising, token-sorted batching, pooling and caching stay ours.

The graph is written in the layout sentence-transformers' ONNX backend reads (`onnx/model.onnx` beside the
PyTorch weights; int8 as `onnx/model_qint8_avx2.onnx`). It is made by torch's own exporter (`dynamo=True`):
optimum's exporter needs transformers < 4.58, and torch's older TorchScript exporter traced transformers 5's
attention masks wrongly (hidden states off by up to 1.9 on MiniLM; the dynamo graph is within 4e-6). The graph
is traced through the eager attention: the SDPA one exports as MatMul, Softmax and a NaN guard (IsNaN, Where) with
extra transposes, which ONNX Runtime's per-op profile shows costing time the eager graph does not spend.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from models.config import CHOICES

ONNX_FOLDER = "onnx"
FP32_FILE = "model.onnx"
INT8_FILE = "model_qint8_avx2.onnx"  # sentence-transformers' name for dynamic int8 on AVX2 CPUs
BACKENDS = CHOICES["backend"]
UNFUSED = ["SkipLayerNormFusion"]  # ONNX Runtime graph rewrites that made our graphs slower (OnnxGraph)
ONNX_MISSING = ("--backend onnx and int8 need ONNX Runtime and onnxscript (the onnx extra): "
                "pip install -c requirements.lock -e '.[onnx]'")
_EXAMPLE = ("a short first text", "and a second one, somewhat longer than the first")  # shapes differ in each axis


class _Outputs(nn.Module):
    """The model called with named inputs, giving one tensor (what the graph returns)."""

    def __init__(self, model: PreTrainedModel, inputs: Sequence[str], output: str) -> None:
        super().__init__()
        self.model, self.inputs, self.output = model, tuple(inputs), output

    def forward(self, *features: torch.Tensor) -> torch.Tensor:
        return getattr(self.model(**dict(zip(self.inputs, features))), self.output)


def graph_inputs(tokenizer: PreTrainedTokenizerBase) -> list[str]:
    """The token inputs the model reads, in the tokenizer's order (MPNet and RoBERTa have no segment ids)."""
    return [name for name in ("input_ids", "token_type_ids", "attention_mask") if name in tokenizer.model_input_names]


def export_graph(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, output: str, target: Path,
                 pair: bool = False) -> Path:
    """Write `model`'s `output` (`last_hidden_state` or `logits`) as an ONNX graph with any batch size and length.
    `pair`: the example input is a text pair (a cross-encoder), so segment ids vary as they will."""
    inputs = graph_inputs(tokenizer)
    example = tokenizer([_EXAMPLE[0], _EXAMPLE[1]], [_EXAMPLE[1], _EXAMPLE[0]] if pair else None, padding=True,
                        return_tensors="pt")
    batch, tokens = torch.export.Dim("batch"), torch.export.Dim("tokens")
    target.parent.mkdir(parents=True, exist_ok=True)
    was_training = model.training
    attention = model.config._attn_implementation
    model.eval()
    model.set_attn_implementation("eager")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's notes on renamed dynamic shapes and deprecated options
        program = torch.onnx.export(_Outputs(model, inputs, output), tuple(example[name] for name in inputs),
                                    input_names=inputs, output_names=[output], dynamo=True, verbose=False,
                                    dynamic_shapes=(tuple({0: batch, 1: tokens} for _ in inputs),))
    program.save(str(target), external_data=False)
    model.set_attn_implementation(attention)
    model.train(was_training)
    return target


class OnnxGraph:
    """An ONNX Runtime session that takes our padded torch batches and gives a torch tensor back, so the encoders'
    loops run unchanged. Threads: ONNX Runtime's own pool, sized like torch's (`torch.get_num_threads()`), that
    sleeps between runs instead of spinning: a spinning pool holds the cores while we tokenise and pool the next
    batch. ONNX Runtime's fusion of a residual Add with the LayerNormalization after it is left out: its fused
    kernel was slower than the two ops it replaces in ONNX Runtime's per-op profile on our AVX2 CPUs."""

    def __init__(self, path: Path) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"],
                                                    disabled_optimizers=UNFUSED)
        self.inputs = [node.name for node in self.session.get_inputs()]

    def __call__(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        feeds = {name: features[name].cpu().numpy().astype(np.int64, copy=False) for name in self.inputs}
        return torch.from_numpy(self.session.run(None, feeds)[0])


def onnx_available() -> bool:
    """Whether ONNX Runtime and torch's exporter's helpers are installed (the `onnx` extra of `make setup`)."""
    try:
        import onnxruntime  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError:
        return False
    return True


def graph_file(folder: Path, int8: bool) -> Path:
    return Path(folder) / ONNX_FOLDER / (INT8_FILE if int8 else FP32_FILE)
