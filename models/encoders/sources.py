"""Where a pretrained model comes from: a local folder, an installed wheel (short name) or a hub id."""
from __future__ import annotations

import json
import re
from pathlib import Path

from models.encoders.installed import SHORT_NAMES, installed_path
from models.encoders.ngram_cnn import MODULE_TYPE as NGRAM_TYPE

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


class ModelSourceError(ValueError):
    """A model source that is neither a folder, a known short name nor a hub id."""


def resolve_model_source(source: str | Path) -> str:
    """A local folder path or a hub id that `from_pretrained` can load.

    A folder must hold safetensors weights: we never load pickled `.bin` files.
    """
    text = str(source)
    if text in SHORT_NAMES:
        return installed_path(text)
    path = Path(text).expanduser()
    if path.is_dir():
        if not any(path.glob("*.safetensors")):
            raise ModelSourceError(
                f"model folder {path} has no *.safetensors weights; convert it with "
                "`save_pretrained(..., safe_serialization=True)` (pickled .bin files are not loaded)"
            )
        return str(path)
    if path.exists() or text.startswith((".", "/", "~")) or not _HUB_ID.match(text):
        raise ModelSourceError(
            f"model {text!r} is not a model folder, an installed short name "
            f"({', '.join(SHORT_NAMES)}) or a Hugging Face hub id like 'bert-base-uncased'"
        )
    return text


def model_kind(source: str | Path) -> str:
    """'cross' when the model is a sequence classifier (a cross-encoder), else 'bi'."""
    from transformers import AutoConfig

    architectures = AutoConfig.from_pretrained(resolve_model_source(source)).architectures or []
    return "cross" if any(name.endswith("ForSequenceClassification") for name in architectures) else "bi"


def is_sentence_encoder(source: str) -> bool:
    """True when the folder is a sentence-transformers model (supervised start), False for a raw LM."""
    return (Path(source) / "modules.json").is_file()


def module_folder(source: str, type_suffix: str) -> Path | None:
    """The folder of the sentence-transformers module whose type ends with `type_suffix`, if the model has one."""
    modules = Path(source) / "modules.json"
    if not modules.is_file():
        return None
    found = [m["path"] for m in json.loads(modules.read_text()) if str(m.get("type", "")).endswith(type_suffix)]
    return Path(source) / found[0] if found else None


def carries_code(folder: str | Path) -> bool:
    """True for a model with a module of its own code (IS-BERT's n-gram CNN): sentence-transformers loads it with
    `trust_remote_code=True`."""
    return module_folder(str(folder), NGRAM_TYPE) is not None


def pooling_of(source: str) -> str | None:
    """The pooling a sentence-transformers folder declares ('cls' or 'mean'), if any."""
    folder = module_folder(source, "Pooling")
    config = (folder or Path(source) / "1_Pooling") / "config.json"
    if not config.is_file():
        return None
    settings = json.loads(config.read_text())
    if settings.get("pooling_mode_cls_token"):
        return "cls"
    if settings.get("pooling_mode_mean_tokens") or settings.get("pooling_mode") == "mean":
        return "mean"
    return None
