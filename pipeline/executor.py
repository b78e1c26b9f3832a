"""Running the cycle's stage calls against the content-addressed store, or only planning them.

`StoreExecutor` runs each call in this process: an output already in the store (digest verified) is reused
and reported as `cached`, anything else runs; both under the output's lock, so runs sharing the store compute it
once (pipeline/locked_run.py). The Prefect flow subclasses it to run the calls as cached
tasks; the plain runner uses it as is. `Planner` runs nothing: it says for each call its key and whether it
is stored or will run, and why. No Prefect import here, so a bare GPU box runs the same code.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from artifacts.atomic import write_text_atomic
from artifacts.hashing import file_digest, folder_digest, path_digest, value_digest
from artifacts.manifest import ManifestEntry, RunManifest
from artifacts.store import Artifact, Store
from models.config import PipelineConfig
from models.data import benchmark_dir, hub_data_identity
from models.encoders.sources import resolve_model_source
from models.stop import check_stop
from pipeline.keys import KeyParts, key_parts, target
from pipeline.locked_run import stored_or_run
from pipeline.plan import StageCall, StageOutput
from pipeline.registry import STAGES
from pipeline.stage import StageContext, StageResult


def source_artifact(model: str) -> Artifact:
    """A start model as an input: a folder by its content, a hub id by its name."""
    source = resolve_model_source(model)
    return Artifact(source, folder_digest(Path(source)) if Path(source).is_dir() else value_digest(source))


def data_identity(config: PipelineConfig) -> str:
    """What the benchmark and pool data are, for the keys of the stages that read them: the folder's content, or
    the hub splits read, by id and content; and the user's pool, dev and --dev-retrieval files by content."""
    data_dir = benchmark_dir(config.data_dir)
    identity = folder_digest(data_dir) if data_dir else hub_data_identity(config)
    for path in (config.pool_path, config.corpus_path, config.dev_pairs):
        if path:
            identity += ":" + file_digest(Path(path))
    if config.dev_retrieval:
        identity += ":" + path_digest(Path(config.dev_retrieval))
    return identity


class RunInputs:
    """What a run reads from outside the store, digested once per run and shared by its plan and its executor:
    the data files (for the stages that read them) and each start model's content."""

    def __init__(self, config: PipelineConfig) -> None:
        self.data = data_identity(config)
        self._sources: dict[str, Artifact] = {}

    def source(self, model: str) -> Artifact:
        if model not in self._sources:
            self._sources[model] = source_artifact(model)
        return self._sources[model]


def key_file(path: Path) -> Path:
    """Beside each stored output: what its key was made of, so a later plan can say why a stage runs again."""
    return path.with_name(path.name + ".key.json")


class StoreExecutor:
    """Runs stage calls one after another in this process, reusing verified outputs from the store."""

    def __init__(self, config: PipelineConfig, store: Store, manifest: RunManifest | None, manifest_path: Path | None,
                 inputs: RunInputs | None = None) -> None:
        self.config, self.store, self.manifest, self.manifest_path = config, store, manifest, manifest_path
        self.inputs = inputs or RunInputs(config)

    def source(self, model: str) -> Artifact:
        return self.inputs.source(model)

    def locate(self, call: StageCall[Artifact]) -> tuple[KeyParts, Path]:
        """The call's key (what it is made of) and the store path of its output."""
        declared = STAGES[call.stage]
        if declared.inputs is not None and set(call.inputs) != set(declared.inputs):
            raise ValueError(f"{call.title}: inputs {sorted(call.inputs)}, but the stage declares "
                             f"{sorted(declared.inputs)}")
        parts = key_parts(call.stage, self.config, call.inputs, call.params, call.cycle, self.inputs.data)
        return parts, target(self.store, parts)

    def context(self, call: StageCall[Artifact], target_path: Path) -> StageContext:
        """What the stage function gets: its member's settings (the call's model as `model`), inputs and target."""
        member = self.config.for_member(call.params.model) if call.params.model else self.config
        return StageContext(member, dict(call.inputs), target_path, call.params, call.cycle)

    def run(self, calls: Sequence[StageCall[Artifact]]) -> list[StageOutput[Artifact]]:
        outputs = []
        for call in calls:
            check_stop()  # a stop asked for between stages starts no other
            parts, path = self.locate(call)
            self.log(f"starting {call.title}")
            result, ran = stored_or_run(STAGES[call.stage], self.context(call, path), call.title)
            outputs.append(self.record(call, parts, result, "ran" if ran else "cached"))
        return outputs

    def record(self, call: StageCall[Artifact], parts: KeyParts, result: StageResult,
               status: str) -> StageOutput[Artifact]:
        path = Path(result.artifact.path)
        write_text_atomic(key_file(path), parts.to_json() + "\n")
        self.log(f"{call.title:<40} {status:<6} {result.seconds:7.1f} s  {path.name}")
        self.manifest.add(ManifestEntry(call.stage, call.cycle, result.artifact.path, result.artifact.sha256, status,
                                        result.seconds, result.metrics, call.member, result.peak_rss_mb,
                                        result.worker, call.title))
        self.manifest.write(self.manifest_path)
        return StageOutput(result.artifact, result.metrics)

    def log(self, message: str) -> None:
        print(message, flush=True)


@dataclass(frozen=True)
class PlannedStage:
    title: str
    stage: str
    key: str
    status: str  # "cached" or "will run"
    reason: str  # why it will run ('' when cached)


class Planner(StoreExecutor):
    """Walks the run's calls without running any: each call's key, and whether its output is stored.

    A stored output's handle is the real artifact; a missing one's is the path it will have, so the calls after
    it get their keys too (a key names its inputs by their keys, not their content)."""

    def __init__(self, config: PipelineConfig, store: Store, earlier: Mapping[str, str] | None = None,
                 inputs: RunInputs | None = None) -> None:
        super().__init__(config, store, None, None, inputs)
        self.earlier = dict(earlier or {})  # call title -> the output path it had in this run folder's last run
        self.stages: list[PlannedStage] = []

    def run(self, calls: Sequence[StageCall[Artifact]]) -> list[StageOutput[Artifact]]:
        outputs = []
        for call in calls:
            parts, path = self.locate(call)
            stored = STAGES[call.stage].stored(path)
            if stored is not None:
                self.stages.append(PlannedStage(call.title, call.stage, parts.key, "cached", ""))
                outputs.append(StageOutput(stored.artifact, stored.metrics))
                continue
            self.stages.append(PlannedStage(call.title, call.stage, parts.key, "will run", self.why(call, parts, path)))
            planned = Artifact(str(path), "", parts.key)
            outputs.append(StageOutput(planned, STAGES[call.stage].planned_metrics(self.config)))
        return outputs

    def why(self, call: StageCall[Artifact], parts: KeyParts, path: Path) -> str:
        """What changed since this run folder's last run of the same call, from the key it was stored under; first,
        whether what is stored at `path` failed its digest."""
        damage = Store.unusable(path)
        if damage:
            return f"stored output {damage}"
        earlier = self.earlier.get(call.title)
        if earlier is None:
            return "not run before"
        recorded = key_file(Path(earlier))
        if not recorded.is_file():
            return "output missing"
        earlier_parts = json.loads(recorded.read_text())
        if earlier_parts == json.loads(parts.to_json()):
            return "output missing or damaged"
        return parts.changes_from(earlier_parts)
