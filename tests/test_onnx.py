"""ONNX exports and our ONNX Runtime path: the graphs give the PyTorch models' outputs, int8 stays close, the
folder layout is sentence-transformers', and score / evaluate / pool labelling take --backend onnx and --int8."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks.speed import PEER_PYTHON
from models.config import PipelineConfig
from models.encoders.backend import export_onnx, load_for_serving, with_backend
from models.encoders.bi_encoder import BiEncoder
from models.encoders.cross_encoder import CrossEncoder
from models.encoders.onnx_graph import graph_file
from models.reporting.model_card import write_model_card
from models.runtime import Runtime
from models.training.distillation import for_labelling, label_with_bi, label_with_cross

pytest.importorskip("onnxruntime", reason="the onnx extra (make setup installs it)")

FIRST = ["a man is playing a guitar", "the cat sat on the mat", "hello", "two dogs run across a snowy field"]
SECOND = ["someone plays music", "a dog lies on a rug", "hello there", "dogs are running in the snow outside"]


@pytest.fixture(scope="module")
def exported(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The tiny BERT saved as a bi-encoder and as a cross-encoder, each with its ONNX graphs."""
    root = tmp_path_factory.mktemp("onnx-exports")
    folders = {}
    for kind, model in (("bi", BiEncoder.from_pretrained(tiny_model_dir, "mean", 32)),
                        ("cross", CrossEncoder.from_pretrained(tiny_model_dir, 64))):
        folders[kind] = model.save(root / kind)
        export_onnx(model, folders[kind])
    return folders


def test_export_writes_the_sentence_transformers_layout(exported: dict[str, Path]) -> None:
    for folder in exported.values():
        assert sorted(p.name for p in (folder / "onnx").iterdir()) == ["model.onnx", "model_qint8_avx2.onnx"]
        assert graph_file(folder, True).stat().st_size < graph_file(folder, False).stat().st_size


def test_onnx_bi_encoder_gives_the_torch_embeddings(exported: dict[str, Path]) -> None:
    cpu = Runtime.create("cpu", "fp32", 0).device
    torch_model = load_for_serving("bi", exported["bi"], None, 32, cpu)
    onnx_model = load_for_serving("bi", exported["bi"], None, 32, cpu, backend="onnx")
    assert onnx_model.graph is not None and torch_model.graph is None
    expected, found = torch_model.encode(FIRST + SECOND), onnx_model.encode(FIRST + SECOND)
    np.testing.assert_allclose(found, expected, atol=1e-5)
    int8 = load_for_serving("bi", exported["bi"], None, 32, cpu, backend="onnx", int8=True)
    quantised = int8.encode(FIRST + SECOND)
    assert (quantised * expected).sum(axis=1).min() > 0.95  # int8: close to the fp32 vectors, not the same ones
    assert np.abs(quantised - expected).max() > 1e-5


def test_onnx_cross_encoder_gives_the_torch_scores(exported: dict[str, Path]) -> None:
    cpu = Runtime.create("cpu", "fp32", 0).device
    torch_model = load_for_serving("cross", exported["cross"], None, 64, cpu)
    onnx_model = load_for_serving("cross", exported["cross"], None, 64, cpu, backend="onnx")
    np.testing.assert_allclose(onnx_model.score(FIRST, SECOND), torch_model.score(FIRST, SECOND), atol=1e-5)
    # batches of one and of several widths: the graph takes any batch size and length
    np.testing.assert_allclose(onnx_model.logits(FIRST[:1], SECOND[:1], batch_size=1),
                               torch_model.logits(FIRST[:1], SECOND[:1]), atol=1e-5)


def test_labelling_on_onnx_exports_the_models_in_memory(tiny_model_dir: Path) -> None:
    """Pool labelling's models live in the store, not in an export: their graphs are made when they label."""
    runtime = Runtime.create("cpu", "fp32", 0)
    config = PipelineConfig(model=str(tiny_model_dir), device="cpu")
    bi, cross = BiEncoder.from_pretrained(tiny_model_dir, "mean", 32), CrossEncoder.from_pretrained(tiny_model_dir)
    expected_bi, expected_cross = (label_with_bi(bi, FIRST, SECOND, config, runtime),
                                   label_with_cross(cross, FIRST, SECOND, config, runtime))
    onnx = PipelineConfig(model=str(tiny_model_dir), device="cpu", backend="onnx")
    np.testing.assert_allclose(label_with_bi(bi, FIRST, SECOND, onnx, runtime), expected_bi, atol=1e-5)
    np.testing.assert_allclose(label_with_cross(cross, FIRST, SECOND, onnx, runtime), expected_cross, atol=1e-5)
    int8 = PipelineConfig(model=str(tiny_model_dir), device="cpu", label_int8=True)  # int8 is ONNX's on any backend
    labeller = for_labelling(bi, int8)
    assert labeller.graph is not None and bi.graph is None, "a copy computes in int8; the model stays torch's"


def test_score_command_on_onnx_equals_torch(exported: dict[str, Path], tmp_path: Path) -> None:
    from flows.score import main as score

    pairs = tmp_path / "pairs.csv"
    pd.DataFrame({"sentence1": FIRST, "sentence2": SECOND}).to_csv(pairs, index=False)
    outputs = {}
    for backend in ("torch", "onnx"):
        outputs[backend] = tmp_path / f"{backend}.parquet"
        score([str(exported["cross"]), str(pairs), "--out", str(outputs[backend]), "--device", "cpu",
               "--backend", backend])
    np.testing.assert_allclose(pd.read_parquet(outputs["onnx"])["score"], pd.read_parquet(outputs["torch"])["score"],
                               atol=1e-5)


def test_onnx_backend_refuses_a_gpu_model(tiny_model_dir: Path) -> None:
    bi = BiEncoder.from_pretrained(tiny_model_dir, "mean", 32)
    bi.to("meta")
    with pytest.raises(ValueError, match="run on the CPU"):
        with_backend(bi, "onnx", False)


def test_model_card_says_how_to_load_the_onnx_files_only_when_there_are_some(exported: dict[str, Path],
                                                                            tmp_path: Path) -> None:
    config = PipelineConfig(eval="none", max_pairs=100)
    with_graphs = write_model_card(exported["cross"], "cross", config, 1, {}, "run-x").read_text()
    assert 'CrossEncoder(PATH, backend="onnx")' in with_graphs and "onnx/model_qint8_avx2.onnx" in with_graphs
    assert "backend=" not in write_model_card(tmp_path, "cross", config, 1, {}, "run-x").read_text()


@pytest.mark.skipif(not PEER_PYTHON.is_file(), reason="sentence-transformers' ONNX backend is in .venv-peer: make peer")
def test_sentence_transformers_onnx_backend_loads_our_export_and_gives_its_vectors(tmp_path: Path) -> None:
    """Our MiniLM export in the layout sentence-transformers reads: its ONNX backend (in the peer's environment:
    it needs transformers 4) gives the PyTorch export's vectors within 1e-4."""
    folder = BiEncoder.from_pretrained("minilm-l6", max_length=64).save(tmp_path / "bi")
    export_onnx(BiEncoder.from_pretrained(folder, max_length=64), folder)
    expected = BiEncoder.from_pretrained(folder, max_length=64).encode(FIRST)
    script = ("import json, sys; from sentence_transformers import SentenceTransformer; "
              "model = SentenceTransformer(sys.argv[1], backend='onnx', device='cpu', "
              "model_kwargs={'file_name': 'onnx/model.onnx'}); "
              "print(json.dumps(model.encode(json.loads(sys.argv[2])).tolist()))")
    done = subprocess.run([str(PEER_PYTHON), "-c", script, str(folder), json.dumps(FIRST)], capture_output=True,
                          text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    found = np.array(json.loads(done.stdout.strip().splitlines()[-1]))
    np.testing.assert_allclose(found, expected, atol=1e-4)
