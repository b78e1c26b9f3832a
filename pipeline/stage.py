"""What a stage is: one declaration (`Stage`) beside its function, and the typed context the function gets.

To add a stage, write a module in `pipeline/stages/` with a function `run(context) -> metrics` and a module-level
`STAGE = Stage(...)` declaring it: the registry (`pipeline/registry.py`) finds it, and the cache keys, the
Prefect tasks, the engine's placement and both runners are derived from the declaration. Call it from the
cycle in `pipeline/plan.py`. A stage module imports only what its function needs: its cache key covers every
module it can reach (`pipeline/code_identity.py`).
"""
from __future__ import annotations

import enum
import os
import socket
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from artifacts.store import Artifact, Store
from models.config import PipelineConfig
from models.memory import peak_rss, release_free_memory
from models.progress import ProgressFn
from models.runtime import Runtime, seed_everything


class Kind(enum.Enum):
    """What a stage does, which decides where it runs and what its key covers."""

    DATA = "data"  # reads the user's or the benchmarks' files: its key covers their content
    TRAINING = "training"  # fits a model
    LABELLING = "labelling"  # scores the pool with one model: may be split into row shards and merged
    SCORING = "scoring"  # scores a model on the benchmark files: its key covers their content
    COMBINING = "combining"  # joins stored outputs (averages, shards, ensembles): reads nothing else

    @property
    def reads_data(self) -> bool:
        return self in (Kind.DATA, Kind.SCORING)

    @property
    def runs_model(self) -> bool:
        """Training, labelling and scoring run a model: on Ray they are given a GPU (when the cluster has one) and
        the cores to run it on; the other kinds need one core."""
        return self in (Kind.TRAINING, Kind.LABELLING, Kind.SCORING)


class Writes(enum.Enum):
    """The kind of artifact a stage writes; its value is the store file's suffix."""

    PARQUET = ".parquet"
    FOLDER = ""  # a model folder


@dataclass(frozen=True)
class StageParams:
    """What a call says beyond its inputs: the member's start model, a shard's rows, a score's kind."""

    model: str | None = None  # the member (or frozen labeller) the stage runs for, as its source
    rows: tuple[int, int] | None = None  # a shard of a labelling stage: pool rows [start, stop)
    kind: str | None = None  # "bi" or "cross": the model kind a scores, ensemble or average stage is about
    labelling: str | None = None  # merge-labels: the labelling stage whose shards it joins

    def to_key(self) -> dict[str, Any]:
        """The parameters that are set, as they enter the stage's key."""
        return {name: list(value) if isinstance(value, tuple) else value
                for name, value in asdict(self).items() if value is not None}


@dataclass(frozen=True)
class StageContext:
    """Everything a stage function may read: its member's settings, its inputs, where to write, and how."""

    config: PipelineConfig
    inputs: Mapping[str, Artifact]
    target: Path
    params: StageParams = StageParams()
    cycle: int | None = None
    progress: ProgressFn | None = None

    def input_path(self, name: str) -> Path:
        return Path(self.inputs[name].path)

    @property
    def runtime(self) -> Runtime:
        return Runtime.create(self.config.device, self.config.precision, self.config.seed)  # type: ignore[arg-type]


Metrics = dict[str, Any]


def no_metrics(_: Any) -> Metrics:
    return {}


@dataclass(frozen=True)
class Stage:
    """One stage, declared once: everything the keys, tasks, placement and runners need is read from here."""

    name: str
    run: Callable[[StageContext], Metrics]
    kind: Kind
    writes: Writes
    inputs: tuple[str, ...] | None  # the named inputs it reads; None: any number (one per scorer or shard)
    settings: tuple[str, ...]  # the PipelineConfig fields it reads: each is part of its key
    stored_metrics: Callable[[Artifact], Metrics] = no_metrics  # what a cached output reports, read back
    planned_metrics: Callable[[PipelineConfig], Metrics] = no_metrics  # what the plan needs before it runs
    module: str = ""  # the module whose reach is its code identity (default: the one defining `run`)

    def __post_init__(self) -> None:
        if not self.module:
            object.__setattr__(self, "module", self.run.__module__)

    def stored(self, target: Path) -> StageResult | None:
        """The output already at `target`, when its digest verifies (the store alone says what is cached), else
        None: the stage must run."""
        artifact = Store.verified(target)
        return None if artifact is None else StageResult(artifact, self.stored_metrics(artifact))

    def execute(self, context: StageContext) -> StageResult:
        """Run into `context.target` (each stage writes it atomically), seal it with its digest, and measure."""
        started = time.perf_counter()
        seed_everything(context.config.seed)
        with peak_rss() as peak:
            metrics = self.run(context)
        release_free_memory()
        return StageResult(Store.seal(context.target), metrics, round(time.perf_counter() - started, 2), peak.mb,
                           f"{socket.gethostname()}:{os.getpid()}")


@dataclass(frozen=True)
class StageResult:
    """What a stage returns (and Prefect persists): its artifact and what it measured."""

    artifact: Artifact
    metrics: Metrics = field(default_factory=dict)
    seconds: float = 0.0
    peak_rss_mb: float | None = None  # this stage's largest resident set (None when it was cached)
    worker: str | None = None  # host:pid of the process that ran it (a Ray worker, or the command itself)
