"""Running the cycle's stage calls against the content-addressed store, and finishing a run.

`StoreExecutor` runs each call in this process: an output already in the store (digest verified)
is reused and reported as `cached`, anything else runs. The Prefect flow subclasses it to run the
calls as cached tasks; the plain runner uses it as is. Both finish with `finish_run`: the best
cycle's models exported with model cards, the manifest, summary.md and the per-cycle plot.
No Prefect import here, so a bare GPU box runs the same code.
"""
from __future__ import annotations

import contextlib
import errno
import functools
import os
import socket
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from huggingface_hub import try_to_load_from_cache

from artifacts.atomic import atomic_path, write_text_atomic
from artifacts.hashing import file_digest, folder_digest, value_digest
from artifacts.manifest import ManifestEntry, RunManifest
from artifacts.store import Artifact, Store, StoreUnreachable
from models.config import PipelineConfig
from models.cycle import (KINDS, CycleResult, StageCall, StageOutput, export_key, member_names, recommended,
                          score_label)
from models.data import DEV, OWN_DEV, DataError, benchmark_dir, evaluation_sets, load_run_pool
from models.evaluation import selection_metric
from models.encoders.lengths import pool_truncations
from models.encoders.installed import SHORT_NAMES
from models.encoders.sources import carries_code, resolve_model_source
from models.reporting.model_card import write_model_card
from models.reporting.plots import plot_cycles
from models.reporting.report import markdown_table
from models.training.folders import load_encoder, start_pooling
from models.training.trainer import TrainingDiverged
from tasks import keys
from tasks.stage_io import StageResult, run_stage, stored_metrics

DATA_STAGES = {"pool", "scores"}
METRIC_NAMES = {DEV: "STS-B dev", OWN_DEV: "own dev (--dev-pairs)"}


def preflight(config: PipelineConfig, out: Path, debug: bool = False) -> None:
    """Read (and so check) the pool and the benchmark files before any model loads or any Prefect run starts:
    a bad file ends the command with one line naming it and exit code 2, not a traceback after minutes
    (`debug`: the traceback as well)."""
    try:
        check_out(out)
        check_hub_models(config)
        for note in input_notes(config):
            print(f"note: {note}", file=sys.stderr)
        if config.scores_sts and benchmark_dir(config.data_dir) is None and not hub_reachable():
            raise DataError("--eval sts: the STS benchmarks are not found locally (--data-dir or STS_DATA_DIR) and "
                            "the Hugging Face hub cannot be reached; pass --data-dir, or --eval dev --dev-pairs FILE, "
                            "or --eval none")
        evaluation_sets(config)
    except DataError as error:
        if debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def check_hub_models(config: PipelineConfig) -> None:
    """A model that is neither a folder nor installed comes from the hub: offline, it must already be cached."""
    for model in (*config.members, *config.frozen_labellers):
        source = resolve_model_source(model)
        if Path(source).is_dir() or isinstance(try_to_load_from_cache(source, "config.json"), str):
            continue
        if os.environ.get("HF_HUB_OFFLINE") or not hub_reachable():
            raise DataError(f"model {model!r} is not a local folder or an installed name ({', '.join(SHORT_NAMES)}), "
                            "and the Hugging Face hub cannot be reached to fetch it; pass a model folder or an "
                            "installed name")


def check_out(out: Path) -> None:
    """The output root must be a folder this user can write (created when missing)."""
    existing = next(folder for folder in (out, *out.parents) if folder.exists())
    if not existing.is_dir():
        raise DataError(f"--out {out}: {existing} is a file, not a folder; give a folder for the runs (created when "
                        "missing)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise DataError(f"--out {out}: cannot write in {existing}; give a folder you can write to")


@contextlib.contextmanager
def resume_hint(run_dir: Path, debug: bool = False) -> Iterator[None]:
    """A failure ends with where the finished work is and how to resume. A failure the user can act on (the loss
    diverged, the disk is full) is one line saying what to change; anything else keeps its traceback."""
    try:
        yield
    except Exception as error:
        known = None if debug else actionable(error)
        if known is None:
            traceback.print_exc()
        print(f"error: {known}" if known else "\nThe run stopped at an unexpected error (traceback above).",
              file=sys.stderr)
        print(f"Finished stages are kept under {run_dir.parent / 'store'}; rerun the command (with the change named "
              f"above, if any) to resume from the stage that failed (run folder {run_dir}).", file=sys.stderr)
        raise SystemExit(1) from None


def actionable(error: BaseException) -> str | None:
    """The one-line message of a failure the user can fix without reading a traceback, else None."""
    if isinstance(error, TrainingDiverged):
        return f"{error}; nothing of that stage was stored"
    if isinstance(error, StoreUnreachable):
        return str(error)
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        where = f" writing {error.filename}" if error.filename else ""
        return (f"no space left on the disk{where} ({error.strerror}); the unfinished file was removed. "
                "Free some space on that disk")
    return None


@functools.lru_cache(maxsize=4)
def input_notes(config: PipelineConfig) -> tuple[str, ...]:
    """What will happen to the user's rows, said before any work and kept in the manifest: rows dropped, repeats
    removed, and per member how many inputs each training stage will cut at its max length."""
    pool = load_run_pool(config)
    tidy = tidy_note(pool.attrs.get("tidy", {}))
    notes = [f"{config.pool_path}: {tidy}"] if tidy else []
    for name, model in member_names(config.members).items():
        source = Path(resolve_model_source(model))
        if not source.is_dir():  # a hub id: its tokenizer arrives with the model, when the run loads it
            continue
        cut = [t.describe() for t in pool_truncations(source, pool["text_a"].tolist(), pool["text_b"].tolist(), config)
               if t.cut]
        if cut:
            notes.append(f"{name}: " + "; ".join(cut))
    return tuple(notes)


def tidy_note(tidy: Mapping[str, Any]) -> str:
    """What was dropped from a custom pool, in words ('' when nothing was)."""
    parts = []
    if tidy.get("dropped_empty"):
        rows = ", ".join(map(str, tidy["first_dropped_rows"]))
        parts.append(f"dropped {tidy['dropped_empty']} row(s) with an empty or non-text sentence (data rows {rows}"
                     f"{', ...' if tidy['dropped_empty'] > len(tidy['first_dropped_rows']) else ''}; --strict makes "
                     "that an error)")
    if tidy.get("duplicates"):
        parts.append(f"removed {tidy['duplicates']} repeated pair(s) (exact or a-b / b-a)")
    return "; ".join(parts)


@functools.cache
def hub_reachable(timeout: float = 3.0) -> bool:
    """One quick connection attempt, so an offline machine is told at once instead of after minutes of retries."""
    try:
        socket.create_connection(("huggingface.co", 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def run_name_of(preset: str, config: PipelineConfig) -> str:
    """Deterministic: the same command resumes the same run folder."""
    return f"{preset}-{value_digest(config.to_dict())[:10]}"


def open_run(preset: str, config: PipelineConfig, out: Path, command: str) -> tuple[Store, Path, RunManifest]:
    """The store under `out`, this run's folder (named by its settings) and its new manifest."""
    store = Store(out)
    run_dir = store.root / run_name_of(preset, config)
    return store, run_dir, RunManifest(run_dir.name, config.to_dict(), command, notes=list(input_notes(config)))


def source_artifact(model: str) -> Artifact:
    """A start model as an input: a folder by its content, a hub id by its name."""
    source = resolve_model_source(model)
    return Artifact(source, folder_digest(Path(source)) if Path(source).is_dir() else value_digest(source))


def data_identity(config: PipelineConfig) -> str:
    """What the benchmark and pool data are, for cache keys: the folder's content, or 'hub'."""
    data_dir = benchmark_dir(config.data_dir)
    identity = folder_digest(data_dir) if data_dir else "hub"
    for path in (config.pool_path, config.dev_pairs):
        if path:
            identity += ":" + file_digest(Path(path))
    return identity


class StoreExecutor:
    """Runs stage calls one after another in this process, reusing verified outputs from the store."""

    def __init__(self, config: PipelineConfig, store: Store, manifest: RunManifest, manifest_path: Path) -> None:
        self.config, self.store, self.manifest, self.manifest_path = config, store, manifest, manifest_path
        self.data = data_identity(config)

    def source(self, model: str) -> Artifact:
        return source_artifact(model)

    def target(self, call: StageCall[Artifact]) -> Path:
        extra: dict[str, Any] = {"cycle": call.cycle, **call.params}
        if call.stage in DATA_STAGES:
            extra["data"] = self.data
        return keys.target(self.store, call.stage, self.config, dict(call.inputs), **extra)

    def run(self, calls: Sequence[StageCall[Artifact]]) -> list[StageOutput[Artifact]]:
        outputs = []
        for call in calls:
            target = self.target(call)
            self.log(f"starting {call.stage} (cycle {call.cycle or '-'}) {call.member or ''}")
            stored = Store.verified(target)
            if stored is not None:
                outputs.append(self.record(call, StageResult(stored, stored_metrics(call.stage, stored)), "cached"))
                continue
            result = run_stage(call.stage, self.config, call.inputs, call.params, call.cycle, target)
            outputs.append(self.record(call, result, "ran"))
        return outputs

    def record(self, call: StageCall[Artifact], result: StageResult, status: str) -> StageOutput[Artifact]:
        self.log(f"{call.title:<40} {status:<6} {result.seconds:7.1f} s  {Path(result.artifact.path).name}")
        self.manifest.add(ManifestEntry(call.stage, call.cycle, result.artifact.path, result.artifact.sha256, status,
                                        result.seconds, result.metrics, call.member, result.peak_rss_mb,
                                        result.worker))
        self.manifest.write(self.manifest_path)
        return StageOutput(result.artifact, result.metrics)

    def log(self, message: str) -> None:
        print(message, flush=True)


def finish_run(config: PipelineConfig, result: CycleResult[Artifact], manifest: RunManifest, run_dir: Path,
               started: float) -> str:
    """Export each member's best cycle, write manifest, plot and summary.md; returns the summary text."""
    single = len(result.members) == 1
    manifest.scores, manifest.best_cycle = result.scores, result.best_cycle
    for name, source in result.members.items():
        member = config.for_member(source)
        for kind in KINDS:
            key = export_key(kind, name, single)
            cycle = result.best_cycle[key]
            folder = run_dir / ("" if single else name) / ("bi-encoder" if kind == "bi" else "cross-encoder")
            suffix = kind if single else f"{name} {kind}"
            rows = {label: s for label, s in result.scores.items() if label.endswith(suffix)}
            _export(folder, kind, result.models[score_label(kind, cycle, name, single)], member, cycle, rows,
                    manifest.run_name)
            manifest.exports[key] = str(folder)
    manifest.wall_seconds = round(time.perf_counter() - started, 1)
    manifest.write(run_dir / "manifest.json")
    plot = plot_cycles(manifest.scores, config.cycles, run_dir / "scores.png", manifest.run_name) \
        if manifest.scores else None
    summary = run_summary(manifest, plot, selection_metric(config))
    write_text_atomic(run_dir / "summary.md", summary)
    return summary


def _export(folder: Path, kind: str, model: Artifact, config: PipelineConfig, cycle: int,
            scores: Mapping[str, Mapping[str, float]], run_name: str) -> None:
    """Save a model out of the store, for inference at `eval_max_length`, with a model card."""
    with atomic_path(folder, is_dir=True) as temp:
        load_encoder(kind, model.path, start_pooling(config), config.eval_max_length).save(temp)
        write_model_card(temp, kind, config, cycle, scores, run_name)


def recommended_exports(manifest: RunManifest, metric: str | None) -> dict[str, tuple[str, float | None]]:
    """Per kind, the recommended export's folder and its value on `metric`."""
    return {kind: (manifest.exports[key], value)
            for kind, (key, value) in recommended(manifest.best_cycle, manifest.scores, metric).items()}


def run_summary(manifest: RunManifest, plot: Path | None, metric: str | None) -> str:
    rows = list(manifest.scores.items())
    chosen_by = f"on {METRIC_NAMES[metric]}" if metric else "(no evaluation: the last cycle)"
    best = "; ".join(f"{key} cycle {cycle}" for key, cycle in manifest.best_cycle.items())
    use = "\n".join(f"- **{kind}-encoder**: `{path}`" + (f" ({METRIC_NAMES[metric]} {value:.2f})"
                                                          if metric and value is not None else "")
                    for kind, (path, value) in recommended_exports(manifest, metric).items())
    figure = f"![scores per cycle]({plot.resolve().as_uri()})  (plot: `{plot}`)" if plot else ""
    stages = "\n".join(f"| {e.stage} | {e.cycle or '-'} | {e.member or '-'} | {e.status} | {e.seconds:.1f} | "
                       f"{e.peak_rss_mb if e.peak_rss_mb is not None else '-'} |" for e in manifest.entries)
    pool = next((e.metrics for e in manifest.entries if e.stage == "pool"), {})
    notes = "".join(f"\n- {note}" for note in manifest.notes)
    return f"""# Trans-Encoder run `{manifest.run_name}`

Pool: {pool.get("pairs", "-")} pairs.{notes}
Best cycle {chosen_by}: {best}. Wall time {manifest.wall_seconds} s.
Use these exports:
{use}
{versus_start(manifest, metric)}

{markdown_table(rows)}

{figure}

| stage | cycle | member | status | seconds | peak RSS MB |
|---|---|---|---|---|---|
{stages}

Load the recommended exports with sentence-transformers:
```python
{usage(recommended_exports(manifest, metric))}
```
"""


def usage(chosen: Mapping[str, tuple[str, float | None]]) -> str:
    """The lines of Python that load the recommended bi- and cross-encoder."""
    trust = ", trust_remote_code=True" if carries_code(chosen["bi"][0]) else ""  # IS-BERT's n-gram CNN
    return "\n".join([
        "from sentence_transformers import CrossEncoder, SentenceTransformer",
        f"bi = SentenceTransformer({chosen['bi'][0]!r}{trust})        # bi.encode(sentences)",
        f"cross = CrossEncoder({chosen['cross'][0]!r})         # cross.predict([(a, b), ...]) in [0, 1]",
    ])


def versus_start(manifest: RunManifest, metric: str | None) -> str:
    """Say plainly when the recommended exports do not beat the best start model on the selection metric."""
    if metric is None:
        return ("No evaluation set (`--eval none`): the last cycle is exported. Give `--dev-pairs FILE` (a few "
                "hundred labelled pairs) to choose the best cycle and compare with the start model.")
    start = max(s[metric] for label, s in manifest.scores.items() if label.startswith("start "))
    worse = {kind: value for kind, (_, value) in recommended_exports(manifest, metric).items()
             if value is not None and value < start}
    if not worse:
        return f"The recommended exports beat the start model on {METRIC_NAMES[metric]} ({start:.2f})."
    listed = ", ".join(f"{kind}-encoder {value:.2f}" for kind, value in worse.items())
    return (f"**Below the start model on {METRIC_NAMES[metric]}** ({start:.2f}): {listed}. With this pool and these "
            "settings, keep the start model for those; see benchmarks/RESULTS.md for what helped.")
