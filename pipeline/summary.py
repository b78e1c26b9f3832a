"""Finishing a run: the best cycle's models exported with model cards, the manifest, summary.md and the plot."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from artifacts.atomic import atomic_path, write_text_atomic
from artifacts.manifest import RunManifest
from artifacts.pairs import read_mined_pool
from artifacts.store import Artifact
from models.config import PipelineConfig
from models.data import DEV, OWN_DEV
from models.encoders.backend import export_onnx, onnx_exported
from models.encoders.loading import load_encoder, start_pooling
from models.encoders.sources import carries_code
from models.metrics import NDCG10, selection_metric
from models.mining import SOURCES
from models.reporting.model_card import write_model_card
from models.reporting.plots import plot_cycles
from models.reporting.report import markdown_table
from models.reporting.score_rows import KINDS, ExportKey, ScoreRow, export_folders
from pipeline.plan import CycleResult, best_export, recommended

METRIC_NAMES = {DEV: "STS-B dev", OWN_DEV: "own dev (--dev-pairs)", NDCG10: "nDCG@10 (--dev-retrieval)"}


def mined_table(manifest: RunManifest) -> str:
    """A mined pool's pairs per neighbour rank (0: random) with their mean cosine: how near the pairs are."""
    entry = next((e for e in manifest.entries if e.stage == "mine"), None)
    if entry is None:
        return ""
    return "\n\n" + "\n".join(rank_table(read_mined_pool(Path(entry.path))))


def rank_table(pool: pd.DataFrame) -> list[str]:
    """A mined pool's pairs per source and rank within it, and their mean cosine, as markdown rows."""
    in_order = pool.assign(order=pool["source"].map(SOURCES.index))
    by_rank = in_order.groupby(["order", "source", "rank"])["cosine"].agg(["size", "mean"])
    return ["| source | rank | pairs | mean cosine |", "|---|---|---|---|",
            *(f"| {source} | {rank or '-'} | {int(row['size']):,} | {row['mean']:.3f} |"
              for (_, source, rank), row in by_rank.iterrows())]


def mined_note(mined: Mapping[str, Any]) -> str:
    """How a pool mined from a corpus was made, in words ('' for a given pool)."""
    if "neighbour_pairs" not in mined:
        return ""
    recall = f", recall@k {mined['recall_at_k']:.3f} against exact search" if "recall_at_k" in mined else ""
    lexical = f", {mined['lexical_pairs']:,} lexical" if "lexical_pairs" in mined else ""
    return (f" mined from {mined['texts']:,} texts ({mined['neighbour_pairs']:,} neighbour pairs{lexical}, "
            f"{mined['random_pairs']:,} random; {mined['search']} search{recall})")


def finish_run(config: PipelineConfig, result: CycleResult[Artifact], manifest: RunManifest, run_dir: Path,
               started: float) -> str:
    """Export each member's best cycle, write manifest, plot and summary.md; returns the summary text."""
    single = len(result.members) == 1
    manifest.scores, manifest.best_cycle = result.scores, result.best_cycle
    for name, source in result.members.items():
        member = config.for_member(source)
        for kind in KINDS:
            export = ExportKey(kind, None if single else name)
            cycle = result.best_cycle[export.label]
            folder = run_dir / ("" if single else name) / ("bi-encoder" if kind == "bi" else "cross-encoder")
            rows = {label: s for label, s in result.scores.items() if ScoreRow.parse(label).export == export}
            _export(folder, kind, result.models[ScoreRow(export, cycle).label], member, cycle, rows,
                    manifest.run_name)
            manifest.exports[export.label] = str(folder)
    manifest.recommended = best_export(result.best_cycle, result.scores, selection_metric(config))
    manifest.wall_seconds = round(time.perf_counter() - started, 1)
    manifest.write(run_dir / "manifest.json")
    plot = plot_cycles(manifest.scores, config.cycles, run_dir / "scores.png", manifest.run_name) \
        if manifest.scores else None
    summary = run_summary(manifest, plot, selection_metric(config))
    write_text_atomic(run_dir / "summary.md", summary)
    return summary


def _export(folder: Path, kind: str, model: Artifact, config: PipelineConfig, cycle: int,
            scores: Mapping[str, Mapping[str, float]], run_name: str) -> None:
    """Save a model out of the store, for inference at `eval_max_length`, with a model card (and ONNX graphs)."""
    with atomic_path(folder, is_dir=True) as temp:
        encoder = load_encoder(kind, model.path, start_pooling(config), config.eval_max_length)
        encoder.save(temp)
        if onnx_exported(config, encoder):
            export_onnx(encoder, temp)
        write_model_card(temp, kind, config, cycle, scores, run_name)


def recommended_exports(manifest: RunManifest, metric: str | None) -> dict[str, tuple[list[str], float | None]]:
    """Per kind, the recommended export's folders (several for an ensemble) and its value on `metric`."""
    return {kind: (export_folders(manifest.exports, key), value)
            for kind, (key, value) in recommended(manifest.best_cycle, manifest.scores, metric).items()}


def run_summary(manifest: RunManifest, plot: Path | None, metric: str | None) -> str:
    rows = list(manifest.scores.items())
    chosen_by = f"on {METRIC_NAMES[metric]}" if metric else "(no evaluation: the last cycle)"
    best = "; ".join(f"{key} cycle {cycle}" for key, cycle in manifest.best_cycle.items())
    use = "\n".join(f"- **{kind}-encoder**: {_named(folders)}" + (f" ({METRIC_NAMES[metric]} {value:.2f})"
                                                                  if metric and value is not None else "")
                    for kind, (folders, value) in recommended_exports(manifest, metric).items())
    picked = f", the best on {METRIC_NAMES[metric]}" if metric else ", nothing scored: the bi-encoder"
    figure = f"![scores per cycle]({plot.resolve().as_uri()})  (plot: `{plot}`)" if plot else ""
    stages = "\n".join(f"| {e.stage} | {e.cycle or '-'} | {e.member or '-'} | {e.status} | {e.seconds:.1f} | "
                       f"{e.peak_rss_mb if e.peak_rss_mb is not None else '-'} |" for e in manifest.entries)
    pool = next((e.metrics for e in manifest.entries if e.stage in ("pool", "mine")), {})
    notes = "".join(f"\n- {note}" for note in manifest.notes)
    first = _named(export_folders(manifest.exports, manifest.recommended))
    return f"""# Trans-Encoder run `{manifest.run_name}`

Pool: {pool.get("pairs", "-")} pairs{mined_note(pool)}.{notes}{mined_table(manifest)}
Best cycle {chosen_by}: {best}. Wall time {manifest.wall_seconds} s.
**Use {first}** ({manifest.recommended}-encoder{picked}); `trans-encoder score`
takes it by default. Each kind's best:
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


def _named(folders: list[str]) -> str:
    """One folder, or an ensemble's members with what to do with them."""
    quoted = " and ".join(f"`{folder}`" for folder in folders)
    return quoted if len(folders) == 1 else f"the mean of {quoted}"


def usage(chosen: Mapping[str, tuple[list[str], float | None]]) -> str:
    """The lines of Python that load the recommended bi- and cross-encoder (an ensemble: each member, to average)."""
    def load(kind: str, loader: str, use: str) -> str:
        folders = chosen[kind][0]
        trust = ", trust_remote_code=True" if any(map(carries_code, folders)) else ""  # IS-BERT's n-gram CNN
        if len(folders) == 1:
            return f"{kind} = {loader}({folders[0]!r}{trust})        # {use}"
        return f"{kind} = [{loader}(path{trust}) for path in {folders!r}]  # the mean of each's {use}"
    return "\n".join(["from sentence_transformers import CrossEncoder, SentenceTransformer",
                      load("bi", "SentenceTransformer", "cosine of bi.encode(sentences)"),
                      load("cross", "CrossEncoder", "cross.predict([(a, b), ...]) in [0, 1]")])


def versus_start(manifest: RunManifest, metric: str | None) -> str:
    """Say plainly when the recommended exports do not beat the best start model on the selection metric."""
    if metric is None:
        return ("No evaluation set (`--eval none`): the last cycle is exported. Give `--dev-pairs FILE` (a few "
                "hundred labelled pairs) to choose the best cycle and compare with the start model.")
    starts = [s[metric] for label, s in manifest.scores.items() if ScoreRow.parse(label).is_start and metric in s]
    if not starts:  # --dev-retrieval scores the cycles only
        return (f"The start model was not scored on {METRIC_NAMES[metric]}; `trans-encoder evaluate START "
                "--retrieval DIR` scores it.")
    start = max(starts)
    worse = {kind: value for kind, (_, value) in recommended_exports(manifest, metric).items()
             if value is not None and value < start}
    if not worse:
        return f"The recommended exports beat the start model on {METRIC_NAMES[metric]} ({start:.2f})."
    listed = ", ".join(f"{kind}-encoder {value:.2f}" for kind, value in worse.items())
    return (f"**Below the start model on {METRIC_NAMES[metric]}** ({start:.2f}): {listed}. With this pool and these "
            "settings, keep the start model for those; see benchmarks/RESULTS.md for what helped.")
