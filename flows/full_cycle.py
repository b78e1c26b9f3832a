"""Trans-Encoder as a Prefect flow: warm-up, then K cycles of bi -> cross -> bi, every stage cached.

Run `python -m flows.full_cycle --help` for every setting. Rerunning the same command after a
crash redoes only the unfinished stages; finished ones are reported as cached.
"""
from __future__ import annotations

import inspect
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.states import State

from artifacts.atomic import atomic_path
from artifacts.hashing import file_digest, folder_digest, value_digest
from artifacts.manifest import ManifestEntry, RunManifest
from artifacts.store import Artifact, Store
from models.cli import overrides_from_args, parse_config
from models.config import PipelineConfig, preset as make_preset
from models.folders import bi_start, cross_start, load_encoder, start_pooling
from models.model_card import write_model_card
from models.evaluation import DEV
from models.pipeline import best_cycle, data_dir_of
from models.plots import plot_cycles
from models.report import header, markdown_table, table_rows, text_table
from models.sources import resolve_model_source
from tasks import keys
from tasks.stages import (StageResult, bi_labels_task, cross_labels_task, distil_bi_task, evaluate_task,
                          fit_cross_task, load_pool_task, warm_up_task)

RESULTS_DIR = ".prefect-results"


def run_name_of(preset: str, config: PipelineConfig) -> str:
    """Deterministic: the same command resumes the same run folder."""
    return f"{preset}-{value_digest(config.to_dict())[:10]}"


def source_artifact(model: str) -> Artifact:
    """The start model as an input: a folder by its content, a hub id by its name."""
    source = resolve_model_source(model)
    return Artifact(source, folder_digest(Path(source)) if Path(source).is_dir() else value_digest(source))


class StageRunner:
    """Runs stage tasks with the run's result storage and records each in the manifest."""

    def __init__(self, config: PipelineConfig, store: Store, manifest: RunManifest, manifest_path: Path) -> None:
        self.config, self.store, self.manifest, self.manifest_path = config, store, manifest, manifest_path
        self.logger = get_run_logger()

    def __call__(self, task: Any, stage: str, cycle: int | None, inputs: dict[str, Artifact],
                 extra: dict[str, Any] | None = None, **params: Any) -> StageResult:
        target = keys.target(self.store, stage, self.config, inputs, **({"cycle": cycle} | (extra or {})))
        bound = task.with_options(result_storage=self.store.root / RESULTS_DIR,
                                  refresh_cache=Store.verified(target) is None)
        if "cycle" in inspect.signature(task.fn).parameters:
            params["cycle"] = cycle
        self.logger.info("starting %s (cycle %s)", stage, cycle if cycle else "-")
        state: State = bound(config=self.config, **inputs, **params, target=str(target), return_state=True)
        result: StageResult = state.result()  # raises the stage's own error when it failed
        status = "cached" if state.name == "Cached" else "ran"
        self.logger.info("%-14s cycle %-4s %-6s %6.1f s  %s", stage, cycle if cycle else "-", status,
                         result.seconds, target.name)
        self.manifest.add(ManifestEntry(stage, cycle, result.artifact.path, result.artifact.sha256, status,
                                        result.seconds, result.metrics))
        self.manifest.write(self.manifest_path)
        return result


@flow(name="full-cycle", log_prints=True)
def full_cycle(preset: str = "cpu", settings: dict[str, Any] | None = None, out: str = "runs",
               command: str = "") -> dict[str, Any]:
    """Warm-up, K Trans-Encoder cycles, evaluation, best-cycle export, summary artifacts."""
    started = time.perf_counter()
    config = make_preset(preset, **(settings or {}))
    store = Store(Path(out))
    run_name = run_name_of(preset, config)
    run_dir = store.root / run_name
    manifest = RunManifest(run_name, config.to_dict(), command or f"flow full-cycle preset={preset} settings={settings}")
    stage = StageRunner(config, store, manifest, run_dir / "manifest.json")

    data = {"data": _data_identity(config)}
    pool = stage(load_pool_task, "pool", None, {}, extra=data).artifact
    start = source_artifact(config.model)
    scores = {"start bi": stage(evaluate_task, "scores", None, {"model": start}, extra=data | {"kind": "bi"},
                                kind="bi", label="start bi").metrics}
    warm = stage(warm_up_task, "warmup", None, {"pool": pool}, extra={"model": start.sha256}).artifact
    latest_bi = warm
    models: dict[str, Artifact] = {}
    for cycle in range(1, config.cycles + 1):
        bi_labels = stage(bi_labels_task, "bi-labels", cycle, {"bi": latest_bi, "pool": pool}).artifact
        cross = stage(fit_cross_task, "cross", cycle,
                      {"start": cross_start(config, start, latest_bi), "labels": bi_labels}).artifact
        cross_labels = stage(cross_labels_task, "cross-labels", cycle, {"cross": cross, "pool": pool}).artifact
        latest_bi = stage(distil_bi_task, "bi", cycle,
                          {"start": bi_start(config, warm, cross), "labels": cross_labels}).artifact
        for kind, model in (("bi", latest_bi), ("cross", cross)):
            label = f"cycle {cycle} {kind}"
            models[label] = model
            scores[label] = stage(evaluate_task, "scores", cycle, {"model": model}, extra=data | {"kind": kind},
                                  kind=kind, label=label).metrics

    best = {kind: best_cycle(scores, kind, config.cycles) for kind in ("bi", "cross")}
    manifest.scores, manifest.best_cycle = scores, best
    manifest.exports = {kind: str(_export(run_dir, kind, models[f"cycle {best[kind]} {kind}"], config,
                                          best[kind], scores, run_name)) for kind in ("bi", "cross")}
    manifest.wall_seconds = round(time.perf_counter() - started, 1)
    manifest.write(run_dir / "manifest.json")
    _publish(manifest, run_dir, config)
    return {"run_dir": str(run_dir), "scores": scores, "best_cycle": best,
            "stages": [(e.stage, e.cycle, e.status, e.seconds) for e in manifest.entries]}


def _data_identity(config: PipelineConfig) -> str:
    """What the benchmark and pool data are, for cache keys: the folder's content, or 'hub'."""
    data_dir = data_dir_of(config)
    identity = folder_digest(data_dir) if data_dir else "hub"
    if config.pool_path:
        identity += ":" + file_digest(Path(config.pool_path))
    return identity


def _export(run_dir: Path, kind: str, model: Artifact, config: PipelineConfig, cycle: int,
            scores: dict[str, dict[str, float]], run_name: str) -> Path:
    """Save the best cycle's model out of the store, for inference at `eval_max_length`, with a model card."""
    target = run_dir / ("bi-encoder" if kind == "bi" else "cross-encoder")
    with atomic_path(target, is_dir=True) as temp:
        load_encoder(kind, model.path, start_pooling(config), config.eval_max_length).save(temp)
        mine = {label: s for label, s in scores.items() if label.endswith(kind)}
        write_model_card(temp, kind, config, cycle, mine, run_name)
    return target


def _publish(manifest: RunManifest, run_dir: Path, config: PipelineConfig) -> None:
    """Table, markdown summary and plot: in the run folder and as Prefect artifacts."""
    rows = list(manifest.scores.items())
    plot = plot_cycles(manifest.scores, config.cycles, run_dir / "scores.png", manifest.run_name)
    create_table_artifact([dict(zip(header(), row)) for row in table_rows(rows)], key="sts-scores",
                          description=f"Spearman x100 per cycle, {manifest.run_name}")
    stages = "\n".join(f"| {e.stage} | {e.cycle or '-'} | {e.status} | {e.seconds:.1f} |" for e in manifest.entries)
    summary = f"""# Trans-Encoder run `{manifest.run_name}`

Best cycle on STS-B dev: bi-encoder {manifest.best_cycle['bi']}, cross-encoder {manifest.best_cycle['cross']}.
Exported: `{manifest.exports['bi']}`, `{manifest.exports['cross']}`. Wall time {manifest.wall_seconds} s.
{_versus_start(manifest.scores, manifest.best_cycle)}

{markdown_table(rows)}

![scores per cycle]({plot.resolve().as_uri()})  (plot: `{plot}`)

| stage | cycle | status | seconds |
|---|---|---|---|
{stages}
"""
    (run_dir / "summary.md").write_text(summary)
    create_markdown_artifact(summary, key="run-summary", description=manifest.run_name)
    print(text_table(rows))
    print(summary.split("\n\n")[1])


def _versus_start(scores: dict[str, dict[str, float]], best: dict[str, int]) -> str:
    """Say plainly when no cycle beat the start model on STS-B dev: then the start model is the one to keep."""
    start = scores["start bi"][DEV]
    exported = {kind: scores[f"cycle {best[kind]} {kind}"][DEV] for kind in ("bi", "cross")}
    worse = {kind: dev for kind, dev in exported.items() if dev < start}
    if not worse:
        return f"Both exported models beat the start model on STS-B dev ({start:.2f})."
    listed = ", ".join(f"{kind}-encoder {dev:.2f}" for kind, dev in worse.items())
    return (f"**Below the start model on STS-B dev** ({start:.2f}): {listed}. With this pool and these "
            "settings, keep the start model for those; see benchmarks/RESULTS.md for what helped.")


def main(argv: Sequence[str] | None = None) -> None:
    _, args = parse_config(argv, __doc__.splitlines()[0])  # validates; the flow rebuilds the config
    command = shlex.join([sys.executable, "-m", "flows.full_cycle", *(argv if argv is not None else sys.argv[1:])])
    full_cycle(preset=args.preset, settings=overrides_from_args(args), out=args.out, command=command)


if __name__ == "__main__":
    main()
