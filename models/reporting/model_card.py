"""README model cards for exported models, with Hugging Face front-matter: what they started from, which models
taught them and how those were trained, what they learned on, how well they do."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import yaml

from models.config import PipelineConfig
from models.data import DEV
from models.data.hub import HUB_TEST_SETS
from models.encoders.installed import HUB_ORIGIN
from models.encoders.onnx_graph import INT8_FILE, graph_file
from models.encoders.sources import carries_code, is_sentence_encoder, resolve_model_source
from models.metrics import NDCG10, selection_metric
from models.reporting.report import markdown_table

SUPERVISED, RAW, UNKNOWN = "supervised", "raw", "unknown"
# The hub copies of the benchmarks each built-in pool is made of (their pairs, never their labels).
POOL_DATASETS: dict[str, tuple[str, ...]] = {
    "stsb": ("mteb/stsbenchmark-sts",),
    "sts": tuple(dict.fromkeys(HUB_TEST_SETS[name][0] for name in ("STS12", "STS13", "STS14", "STS15", "STS16",
                                                                 "STSBenchmark"))),
    "sickr": ("mteb/sickr-sts",),
    "sts_sickr": tuple(dict.fromkeys(dataset for dataset, _ in HUB_TEST_SETS.values())),
    "custom": (),
    "corpus": (),
}


def training_of(model: str) -> str:
    """How a start model or teacher was trained, as far as this machine can tell: SUPERVISED (an installed
    sentence-transformers encoder, or a folder that is one), RAW (a folder holding a plain language model), or
    UNKNOWN (a hub id: its own card says)."""
    if model in HUB_ORIGIN:
        return SUPERVISED
    source = resolve_model_source(model)
    if not Path(source).is_dir():
        return UNKNOWN
    return SUPERVISED if is_sentence_encoder(source) else RAW


def described(model: str) -> str:
    origin = f"`{model}`" + (f" ({HUB_ORIGIN[model]})" if model in HUB_ORIGIN else "")
    how = {SUPERVISED: "a sentence encoder trained with supervision (labelled pairs)",
           RAW: "a language model with no sentence-pair training",
           UNKNOWN: "a hub model; how it was trained is in its own model card"}[training_of(model)]
    return f"{origin}: {how}"


def setting_of(config: PipelineConfig) -> str:
    """The paper's fully unsupervised setting only when no model in the run saw labelled pairs."""
    trainings = {training_of(model) for model in (config.model, *config.frozen_labellers)}
    if trainings == {RAW}:
        return "fully unsupervised (Trans-Encoder, ICLR 2022): no model in the run was trained on labelled pairs"
    if SUPERVISED in trainings:
        return ("label-free adaptation: this pipeline used no labels, but the start model or a teacher was trained "
                "with supervision, and that knowledge carries over")
    return "label-free adaptation; whether the start model or a teacher saw labels is in their own model cards"


def front_matter(kind: str, config: PipelineConfig) -> str:
    """Hugging Face card metadata; a license only where the start model's is known (the installed ones')."""
    meta: dict[str, object] = {
        "base_model": HUB_ORIGIN.get(config.model, config.model if not Path(config.model).is_dir() else None),
        "library_name": "sentence-transformers",
        "pipeline_tag": "sentence-similarity" if kind == "bi" else "text-ranking",
        "tags": ["sentence-transformers", "trans-encoder", "bi-encoder" if kind == "bi" else "cross-encoder",
                 f"warmup-{config.warmup}"],
        "license": "apache-2.0" if config.model in HUB_ORIGIN else None,
        "datasets": list(POOL_DATASETS[config.pool]) or None,
    }
    return "---\n" + yaml.safe_dump({k: v for k, v in meta.items() if v is not None}, sort_keys=False) + "---\n"


def onnx_usage(kind: str) -> str:
    """How to load the folder's ONNX graphs, fp32 and int8, with sentence-transformers and with our commands."""
    model = "SentenceTransformer" if kind == "bi" else "CrossEncoder"
    return f"""
ONNX graphs (`onnx/model.onnx`, and int8: `onnx/{INT8_FILE}`) for ONNX Runtime. sentence-transformers'
ONNX backend needs its `onnx` extra (optimum-onnx); on CPU:
```python
from sentence_transformers import {model}
model = {model}(PATH, backend="onnx")
model_int8 = {model}(PATH, backend="onnx", model_kwargs={{"file_name": "onnx/{INT8_FILE}"}})
```
Or with this pipeline: `trans-encoder score PATH pairs.csv --backend onnx [--int8]` (also `evaluate`).
"""


def write_model_card(folder: Path, kind: str, config: PipelineConfig, cycle: int,
                     scores: Mapping[str, Mapping[str, float]], run_name: str) -> Path:
    trust = ", trust_remote_code=True" if carries_code(folder) else ""  # IS-BERT: the n-gram CNN's code is here
    usage = (f"from sentence_transformers import SentenceTransformer\nmodel = SentenceTransformer(PATH{trust})\n"
             "embeddings = model.encode(sentences)" if kind == "bi" else
             "from sentence_transformers import CrossEncoder\nmodel = CrossEncoder(PATH)\n"
             "scores = model.predict([(a, b), ...])  # in [0, 1]")
    onnx = onnx_usage(kind) if graph_file(folder, False).is_file() else ""
    metric = selection_metric(config)
    selection = {DEV: "STS-B dev", NDCG10: "nDCG@10 on your --dev-retrieval task"}.get(metric or "", "your --dev-pairs")
    chosen = (f"Chosen as the best of {config.cycles} cycle(s) on {selection} (labelled: used to choose, never to "
              "train)" if metric else f"The last of {config.cycles} cycle(s) (no evaluation set)")
    pool_file = f" ({config.pool_path or config.corpus_path})" if config.pool_path or config.corpus_path else ""
    mined = " mined from your texts (each one's nearest neighbours by the start models, and random pairs)" \
        if config.pool == "corpus" else ""
    in_domain = ("\n  The built-in pools hold the benchmarks' own test pairs (without scores), so the scores below are "
                 "in-domain, as in the paper." if config.pool not in ("custom", "corpus") else "")
    teachers = "".join(f"\n  - {described(model)}" for model in config.frozen_labellers) or " none"
    local = {"data_dir", "pool_path", "corpus_path"}  # this machine's paths: no part of the recipe
    recipe = "\n".join(f"- `{k}`: {v}" for k, v in config.to_dict().items() if k not in local)
    text = f"""{front_matter(kind, config)}
# Trans-Encoder {'bi-encoder' if kind == 'bi' else 'cross-encoder'} ({run_name}, cycle {cycle})

- Setting: {setting_of(config)}.
- Start model: {described(config.model)}.
- Frozen teachers (their scores join the pseudo-labels):{teachers}
- Unlabelled pair pool: `{config.pool}`{pool_file}{mined}: pairs only; their gold scores were not read for \
training.{in_domain}
- {chosen}.

## Usage
```python
{usage}
```
{onnx}
## Scores (Spearman x100: 7 STS test sets, their average, STS-B dev, your --dev-pairs; search x100: --dev-retrieval)
{markdown_table(list(scores.items()))}

## Recipe
{recipe}
"""
    path = folder / "README.md"
    path.write_text(text)
    return path
