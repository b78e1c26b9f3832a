"""README model cards for exported models: what they started from, what they learned on, how well they do."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

from models.config import PipelineConfig
from models.data import DEV
from models.encoders.sources import carries_code, is_sentence_encoder, resolve_model_source
from models.metrics import selection_metric
from models.reporting.report import markdown_table


def start_kind(config: PipelineConfig) -> str:
    """'supervised sentence encoder' (label-free adaptation) or 'raw language model' (the paper's setting)."""
    source = resolve_model_source(config.model)
    encoder = Path(source).is_dir() and is_sentence_encoder(source)
    return "supervised sentence encoder" if encoder else "raw language model"


def write_model_card(folder: Path, kind: str, config: PipelineConfig, cycle: int,
                     scores: Mapping[str, Mapping[str, float]], run_name: str) -> Path:
    start = start_kind(config)
    setting = ("label-free adaptation of an already supervised encoder" if start.startswith("supervised")
               else "fully unsupervised (Trans-Encoder, ICLR 2022)")
    trust = ", trust_remote_code=True" if carries_code(folder) else ""  # IS-BERT: the n-gram CNN's code is here
    usage = (f"from sentence_transformers import SentenceTransformer\nmodel = SentenceTransformer(PATH{trust})\n"
             "embeddings = model.encode(sentences)" if kind == "bi" else
             "from sentence_transformers import CrossEncoder\nmodel = CrossEncoder(PATH)\n"
             "scores = model.predict([(a, b), ...])  # in [0, 1]")
    metric = selection_metric(config)
    selection = "STS-B dev" if metric == DEV else "your --dev-pairs"
    chosen = (f"Chosen as the best of {config.cycles} cycle(s) on {selection}" if metric
              else f"The last of {config.cycles} cycle(s) (no evaluation set)")
    pool_file = f" ({config.pool_path})" if config.pool_path else ""
    recipe = "\n".join(f"- `{k}`: {v}" for k, v in config.to_dict().items() if k not in {"data_dir", "pool_path"})
    text = f"""# Trans-Encoder {'bi-encoder' if kind == 'bi' else 'cross-encoder'} ({run_name}, cycle {cycle})

- Start model: `{config.model}` ({start}); setting: {setting}.
- Unlabelled pair pool: `{config.pool}`{pool_file}; no labels were used for training.
- {chosen}.

## Usage
```python
{usage}
```

## Scores (Spearman x100; 7 STS test sets, their average, STS-B dev; your --dev-pairs when given)
{markdown_table(list(scores.items()))}

## Recipe
{recipe}
"""
    path = folder / "README.md"
    path.write_text(text)
    return path
