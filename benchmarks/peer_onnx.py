"""sentence-transformers' own ONNX backend (fp32 and int8), measured in its own environment for benchmarks/speed.py.

Its ONNX backend needs optimum-onnx, whose only release needs transformers < 4.58, while this project pins
transformers 5 (and sentence-transformers 6): so it runs in `.venv-peer` (benchmarks/peer-requirements.txt,
`make peer`), one process per measurement, and imports nothing of this project. Standard library, numpy and
sentence-transformers only.

    .venv-peer/bin/python benchmarks/peer_onnx.py prepare BI_FOLDER CROSS_FOLDER OUT   # their exports, fp32 + int8
    .venv-peer/bin/python benchmarks/peer_onnx.py measure JOB.json                      # prints one JSON line
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

# what `prepare` writes; their AVX2 int8 has uint8 weights
FILES = {"fp32": "onnx/model.onnx", "int8": "onnx/model_quint8_avx2.onnx"}


def prepare(bi: str, cross: str, out: str) -> None:
    """Their exporter (optimum) and their dynamic int8 (the AVX2 configuration) on copies of our two folders."""
    from sentence_transformers import CrossEncoder, SentenceTransformer
    from sentence_transformers.backend import export_dynamic_quantized_onnx_model

    for kind, source, load in (("bi", bi, SentenceTransformer), ("cross", cross, CrossEncoder)):
        target = str(Path(out) / kind)
        model = load(source, backend="onnx", device="cpu")
        model.save_pretrained(target)
        export_dynamic_quantized_onnx_model(model, "avx2", target)


def measure(job_file: str) -> dict[str, object]:
    """Load (untimed) with the job's threads, score the pairs once (timed); the output for the agreement check."""
    import numpy as np
    import onnxruntime
    from sentence_transformers import CrossEncoder, SentenceTransformer

    job = json.loads(Path(job_file).read_text())
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = job["threads"]
    kwargs = {"file_name": FILES[job["precision"]], "session_options": options, "provider": "CPUExecutionProvider"}
    texts_a, texts_b, batch = job["texts_a"], job["texts_b"], job["batch_size"]
    if job["kind"] == "bi":
        model = SentenceTransformer(job["folder"], backend="onnx", device="cpu", model_kwargs=kwargs)
        model.max_seq_length = job["max_length"]
        started = time.perf_counter()
        a = model.encode(texts_a, batch_size=batch, normalize_embeddings=True)
        b = model.encode(texts_b, batch_size=batch, normalize_embeddings=True)
        output = (np.asarray(a) * np.asarray(b)).sum(axis=1)
    else:
        model = CrossEncoder(job["folder"], backend="onnx", device="cpu", max_length=job["max_length"],
                             model_kwargs=kwargs)
        started = time.perf_counter()
        output = np.asarray(model.predict(list(zip(texts_a, texts_b)), batch_size=batch, show_progress_bar=False))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "output": output.astype(float).tolist(),
            "peak_rss_mb": _peak_rss_mb()}


def _peak_rss_mb() -> float:
    """Peak resident set since this program started (VmHWM): ru_maxrss would carry the forking parent's over exec."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(*sys.argv[2:5])
    else:
        print(json.dumps(measure(sys.argv[2])))
