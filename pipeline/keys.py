"""A stage call's key: the digest of its code identity, its inputs' identities, the settings it declares and its
parameters. Stored outputs are found by key, so the whole run's keys (the plan) are known before anything runs."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from artifacts.store import Artifact, Store, stage_key
from models.config import PipelineConfig
from pipeline.code_identity import code_digest
from pipeline.registry import STAGES
from pipeline.stage import StageParams

# Settings no stage key reads, each for a stated reason: every other PipelineConfig field must be in some stage's
# declared settings (tests/test_keys.py checks it).
NOT_IN_KEYS: dict[str, str] = {
    "model": "a member's start model is an input, identified by its content",
    "models": "members are inputs, identified by their content",
    "labellers": "frozen labellers are inputs, identified by their content",
    "labellers_join": "decides which labels are averaged: the inputs of average-labels",
    "distil_from": "decides which labels are averaged: the inputs of average-labels",
    "reinit": "decides where a training stage starts: its `start` input",
    "cycles": "how many cycles are planned, not what one stage computes",
    "data_dir": "the benchmark files are keyed by their content (data and scoring stages)",
    "dev_pairs": "the file is keyed by its content (data and scoring stages)",
    "dev_retrieval": "the folder's files (or the pair file) are keyed by their content (data and scoring stages)",
    "shard_pairs": "a sharded labelling is merged into the same labels as the unsharded one",
    "embedding_cache": "cached embeddings are the ones the model computes",
    "onnx_export": "adds ONNX graphs to the exports, written after the stages; no stage reads it",
    "eval_batch_size": "inference batches are padded per batch and masked: the same scores",
    "run_name": "names the run folder, not what a stage computes",
}


@dataclass(frozen=True)
class KeyParts:
    """What a key is made of, kept beside the artifact so a plan can say why a stage will run again."""

    stage: str
    code: str
    inputs: dict[str, str]
    settings: dict[str, Any]

    @property
    def key(self) -> str:
        return stage_key(self.stage, self.code, self.inputs, self.settings)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True, default=str)

    def changes_from(self, earlier: Mapping[str, Any]) -> str:
        """Why this key differs from an earlier one of the same call: 'code changed', 'new inputs', ..."""
        reasons = []
        if earlier.get("code") != self.code:
            reasons.append("code changed")
        changed = sorted(name for name in {*self.settings, *earlier.get("settings", {})}
                         if self.settings.get(name) != earlier.get("settings", {}).get(name))
        if changed:
            reasons.append("settings changed (" + ", ".join(changed) + ")")
        if earlier.get("inputs") != self.inputs:
            reasons.append("new inputs")
        return "; ".join(reasons) or "output missing or damaged"


def key_parts(stage: str, config: PipelineConfig, inputs: Mapping[str, Artifact], params: StageParams,
              cycle: int | None, data_identity: str) -> KeyParts:
    declared = STAGES[stage]
    settings = {name: getattr(config, name) for name in declared.settings} | params.to_key() | {"cycle": cycle}
    if declared.kind.reads_data:
        settings["data"] = data_identity
    return KeyParts(stage, code_digest(declared.module), {name: art.identity for name, art in inputs.items()},
                    settings)


def target(store: Store, parts: KeyParts) -> Path:
    """The content-addressed output path of a stage call."""
    return store.path(parts.stage, parts.key, STAGES[parts.stage].writes.value)
