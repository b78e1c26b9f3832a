"""Corpus mode against given pairs: the same preset run on a pool mined from texts and on the given pairs.

    python -m benchmarks.corpus_mode --given RUN/manifest.json [RUN/manifest.json] --mined RUN/manifest.json [...]

Reads two finished runs' manifests (and the label files in their stores): STS-7 and STS-B dev of both exports, the
labels the cross-encoder learned from (cycle 1's averaged bi-encoder cosines) as a histogram per pool, the mined
pool's pairs per neighbour rank, and what mining cost (seconds and peak memory per stage, beside encoding the
corpus). Both manifests are archived in benchmarks/manifests/ so the report can be checked against them.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from artifacts.pairs import read_labelled, read_mined_pool
from benchmarks.provenance import provenance
from benchmarks.sts_corpus import pair_key, sts_test_pairs
from models.mining import WORD
from models.reporting.score_rows import KINDS, ExportKey, ScoreRow
from pipeline.presets import PRESETS
from pipeline.summary import rank_table

HERE = Path(__file__).resolve().parent
MINING_STAGES = ("corpus", "corpus-embeddings", "neighbours", "mine")
RUN_IDENTITY = ("run_name",)  # settings that name a run without changing it
RUN_INPUTS = ("pool", "pool_path", "corpus_path", "text", "eval")  # what a run reads, not how it trains
BINS = np.round(np.arange(-0.2, 1.01, 0.1), 1)


def teacher_pairs(manifest: dict[str, Any]) -> pd.DataFrame:
    """Cycle 1's bi -> cross labelled pairs: what the cross-encoder learned from."""
    entry = next(e for e in manifest["entries"] if e["stage"] == "average-labels" and e["cycle"] == 1)
    return read_labelled(Path(entry["path"]))


def word_overlap(pools: dict[str, pd.DataFrame]) -> list[str]:
    """Each pool's mean word overlap (Jaccard index of the two texts' lower-cased words) per label band of 0.2: given
    pairs of a low label still share many words (same words, another meaning), the pairs a cross-encoder must learn
    to tell apart; a pool without them teaches it that shared words mean similar texts."""
    edges = np.round(np.arange(0.0, 1.01, 0.2), 1)
    header = ["| label | " + " | ".join(pools) + " |", "|---" * (len(pools) + 1) + "|"]
    columns = []
    for pairs in pools.values():
        words = [[set(WORD.findall(text.lower())) for text in pairs[side]] for side in ("text_a", "text_b")]
        overlap = np.array([len(a & b) / max(len(a | b), 1) for a, b in zip(*words)])
        band = np.digitize(pairs["label"].to_numpy(), edges[1:-1])  # 0: below 0.2 (negatives too), 4: 0.8 and up
        columns.append([f"{overlap[band == i].mean():.2f}" if (band == i).any() else "-"
                        for i in range(len(edges) - 1)])
    names = [f"below {edges[1]:.1f}", *(f"{low:.1f} to {high:.1f}" for low, high in zip(edges[1:-2], edges[2:-1])),
             f"{edges[-2]:.1f} and up"]
    return [*header, *(f"| {name} | " + " | ".join(column[i] for column in columns) + " |"
                       for i, name in enumerate(names))]


def test_pairs_in(manifest: dict[str, Any], test_pairs: set[tuple[str, str]]) -> int:
    """How many STS test pairs the run trained on: the built-in pools hold them (transductive, as in the paper);
    a mined pool only where mining pairs the same two sentences again."""
    pool = pd.read_parquet(next(e for e in manifest["entries"] if e["stage"] in ("pool", "mine"))["path"])
    return len({pair_key(a, b) for a, b in zip(pool["text_a"], pool["text_b"])} & test_pairs)


def score_rows(name: str, manifest: dict[str, Any], test_pairs: set[tuple[str, str]]) -> list[str]:
    """A run's scores, a row per cycle (named by its cycle where it ran several): the start model beside each cycle's
    two exports."""
    scores, pool = manifest["scores"], next(e for e in manifest["entries"] if e["stage"] in ("pool", "mine"))
    found = test_pairs_in(manifest, test_pairs)
    pool_cells = f"`{manifest['commit']}` | {pool['metrics']['pairs']:,} | {found:,} ({found / len(test_pairs):.1%})"
    cycles = manifest["config"]["cycles"]
    rows = []
    for cycle in range(1, cycles + 1):
        models = [ScoreRow(ExportKey("bi"), None), *(ScoreRow(ExportKey(kind), cycle) for kind in KINDS)]
        cells = " | ".join(f"{scores[model.label][metric]:.2f}" for model in models for metric in ("avg", "dev"))
        row_name = f"{name}, cycle {cycle}" if cycles > 1 else name
        rows.append(f"| {row_name} | {pool_cells} | {cells} | {manifest['wall_seconds'] / 60:.0f} |")
    return rows


def cross_dev_scores(manifest: dict[str, Any]) -> pd.DataFrame:
    """Cycle 1's cross-encoder on STS-B dev: one row per pair (prediction, gold)."""
    entry = next(e for e in manifest["entries"]
                 if e["stage"] == "scores" and e["cycle"] == 1 and " cross" in e["title"])
    scores = pd.read_parquet(entry["path"])
    return scores[scores["set"] == "dev"]


def dev_bands(runs: dict[str, pd.DataFrame]) -> list[str]:
    """Each cross-encoder's mean prediction and Spearman x100 within each gold band of STS-B dev (0-1 ... 4-5): where
    a pool's teaching falls short, on dev only."""
    header = ["| gold | " + " | ".join(runs) + " |", "|---" * (len(runs) + 1) + "|"]
    bands = {name: np.minimum(np.floor(scores["gold"].to_numpy()), 4).astype(int) for name, scores in runs.items()}
    rows = []
    for band in range(5):
        cells = []
        for name, scores in runs.items():
            inside = scores[bands[name] == band]
            rho = spearmanr(inside["prediction"], inside["gold"]).statistic
            cells.append(f"{inside['prediction'].mean():.3f} ({100 * rho:.0f})")
        rows.append(f"| {band} to {band + 1} | " + " | ".join(cells) + " |")
    return [*header, *rows]


def histogram(pools: dict[str, np.ndarray]) -> list[str]:
    """Each pool's labels as shares per bin of 0.1, side by side."""
    shares = [np.histogram(np.clip(labels, BINS[0], BINS[-1]), BINS)[0] / len(labels) for labels in pools.values()]
    rows = [f"| {low:.1f} to {high:.1f} | " + " | ".join(f"{share[i]:.1%}" for share in shares) + " |"
            for i, (low, high) in enumerate(zip(BINS[:-1], BINS[1:]))]
    means = " | ".join(f"{labels.mean():.3f} ({labels.std():.3f})" for labels in pools.values())
    return ["| label (mean cosine) | " + " | ".join(pools) + " |", "|---" * (len(pools) + 1) + "|", *rows,
            f"| mean (std) | {means} |"]


def changed_settings(manifest: dict[str, Any], first: dict[str, Any]) -> dict[str, Any]:
    """The settings besides mining that a run changed against the `first` run (one newer than it is left out)."""
    config, baseline = manifest["config"], first["config"]
    return {key: value for key, value in config.items() if not key.startswith("mine_") and key in baseline
            and key not in RUN_IDENTITY and value != baseline[key]}


def preset_changes(manifest: dict[str, Any]) -> str:
    """The training settings in which a run differs from the `cpu` preset (its mining and its input files aside), as
    flags: what every row of a report shares where its first mined run is not the preset itself."""
    preset = {"config": json.loads(json.dumps(PRESETS["cpu"].to_dict()))}
    changes = {key: value for key, value in changed_settings(manifest, preset).items() if key not in RUN_INPUTS}
    return ", ".join(f"--{key.replace('_', '-')} {value}" for key, value in changes.items())


def mining_settings(manifest: dict[str, Any], first: dict[str, Any]) -> str:
    """A mined run's row name: its mining settings, and the other settings it changed against the `first` run."""
    config = manifest["config"]
    trained = "".join(f", {key.replace('_', '-')} {value}" for key, value in changed_settings(manifest, first).items())
    lexical = f", {config['mine_lexical']} lexical neighbours" if config.get("mine_lexical") else ""
    balanced = ", balanced over cosine bands" if config.get("mine_balance") else ""
    return (f"mined, {config['mine_neighbours']} neighbours{lexical}, {config['mine_random']:.0%} random{balanced}"
            f"{trained}")


def mining_rows(manifest: dict[str, Any]) -> list[str]:
    entries = [e for e in manifest["entries"] if e["stage"] in MINING_STAGES]
    rows = [f"| {e['title']} | {e['seconds']:.1f} | {e['peak_rss_mb'] or '-'} |" for e in entries]
    encode = sum(e["seconds"] for e in entries if e["stage"] == "corpus-embeddings")
    search = sum(e["seconds"] for e in entries if e["stage"] in ("neighbours", "mine"))
    return ["| stage | seconds | peak RSS MB |", "|---|---|---|", *rows, "",
            f"Search and pair building took {search:.1f} s, {search / encode:.3f}x the {encode:.0f} s of encoding the "
            "corpus with every start model (one after the other, with an empty embedding cache)."]


def rank_rows(manifest: dict[str, Any]) -> list[str]:
    entry = next(e for e in manifest["entries"] if e["stage"] == "mine")
    counts = {k: v for k, v in entry["metrics"].items() if isinstance(v, int)}
    return [*rank_table(read_mined_pool(Path(entry["path"]))), "",
            "Counts: " + ", ".join(f"{k} {v:,}" for k, v in counts.items())]


def pair_file(manifest: dict[str, Any]) -> Path | None:
    """A given-pairs run's pair file (`sts_corpus --pairs-without-test`); None for a built-in pool."""
    config = manifest["config"]
    return Path(config["pool_path"]) if config["pool"] == "custom" else None


def given_pool(manifest: dict[str, Any]) -> str:
    """A given-pairs run's row name: its built-in pool, or its pair file."""
    path = pair_file(manifest)
    return f"given pairs ({path.name if path else manifest['config']['pool']})"


def archive(path: Path, manifest: dict[str, Any], name: str, folder: Path = HERE / "manifests") -> Path:
    """Copy a run's manifest into `folder` as `name`.json, or, where another run's manifest already
    holds that name (names say the settings that differ from a report's first mined run, so two reports can give
    two runs one name), as `name`-<its run name>.json: an archived manifest a report cites is never overwritten."""
    target = folder / f"{name}.json"
    if target.exists() and any(json.loads(target.read_text())[key] != manifest[key] for key in ("run_name", "started")):
        target = target.with_name(f"{name}-{manifest['run_name']}.json")
    shutil.copyfile(path, target)
    return target


def report(given: list[dict[str, Any]], mined: list[dict[str, Any]], command: str,
           test_pairs: set[tuple[str, str]]) -> str:
    """`mined[0]` is the cold run (empty store and embedding cache): its stage times are what mining costs. `given`
    may be empty (the stores of earlier given-pairs runs gone): the mined rows alone."""
    corpus = next(note for note in mined[0]["notes"] if note.startswith("corpus"))
    shared = preset_changes(mined[0])
    names = [*map(given_pool, given), *(mining_settings(run, mined[0]) for run in mined)]
    runs_by_name = dict(zip(names, [*given, *mined]))
    teachers = {name: teacher_pairs(run) for name, run in runs_by_name.items()}
    runs = "; ".join(f"`{run['command']}`" for run in [*given, *mined])
    return "\n".join([
        "# Corpus mode: a pool mined from texts against the given pairs", "",
        f"Generated by {command}. Runs: {runs}.", "",
        f"The corpus is every distinct sentence of the `sts_sickr` pool, their pairing thrown away "
        f"(`python -m benchmarks.sts_corpus`): {corpus}. Every run uses the `cpu` preset (MiniLM trained, MPNet a "
        "frozen labeller)" + (f" with {shared} (a row names what it changes beyond the first mined run)"
                              if shared else "")
        + ", so every pool is capped at the preset's 12,000 pairs. Scores are Spearman x100: STS-7 is "
        "the 7 test sets' average, dev is STS-B dev (it chooses between mining settings, and between the cycles of "
        "a run of several, which has a row per cycle; the other tables are cycle 1's). STS test pairs in the pool: "
        f"of the {len(test_pairs):,} pairs of the 7 test sets "
        "(unordered, up to case and spacing), how many the run trained on without their scores. The given pool less "
        "those pairs (`python -m benchmarks.sts_corpus OUT.csv --pairs-without-test`, run with `--pool custom`) is "
        "the like-for-like baseline for a mined pool, which pairs the same sentences only where mining finds them."
        + ("" if given else " This report holds no given-pairs run: set its rows beside an earlier report's."),
        "",
        "| pool | commit | pairs | STS test pairs in the pool | start avg | start dev | bi avg | bi dev | cross avg "
        "| cross dev | wall min |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *(row for name, run in runs_by_name.items() for row in score_rows(name, run, test_pairs)), "",
        "## The labels the cross-encoder learned (cycle 1, mean of the bi-encoder scorers' cosines)", "",
        *histogram({name: pairs["label"].to_numpy() for name, pairs in teachers.items()}), "",
        "## Word overlap of those pairs per label band", "",
        "The mean Jaccard index of the two texts' lower-cased words, per band of the label above.", "",
        *word_overlap(teachers), "",
        "## The cross-encoders on STS-B dev, per gold band", "",
        "Each cycle-1 cross-encoder's mean prediction on the dev pairs of each gold band, and in brackets its Spearman "
        "x100 within the band.", "",
        *dev_bands({name: cross_dev_scores(run) for name, run in runs_by_name.items()}), "",
        *(line for name, run in list(runs_by_name.items())[len(given):]
          for line in (f"## The pool {name}", "", *rank_rows(run), "")),
        "## What mining cost (2 shared cores, the first mined run)", "", *mining_rows(mined[0]), ""])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--given", type=Path, nargs="*", default=[],
                        help="manifest.json of each run on given pairs (the built-in pool, the pairs without the STS "
                             "test pairs); none: a report of mined runs alone, to set beside an earlier one")
    parser.add_argument("--mined", type=Path, nargs="+", required=True,
                        help="manifest.json of each run on the corpus, the cold one first")
    parser.add_argument("--out", type=Path, default=HERE / "CORPUS.md")
    parser.add_argument("--data-dir", type=Path, default=os.environ.get("STS_DATA_DIR"),
                        required=not os.environ.get("STS_DATA_DIR"), help="the STS folder (default: $STS_DATA_DIR)")
    args = parser.parse_args(argv)
    given, mined = ([json.loads(path.read_text()) for path in paths] for paths in (args.given, args.mined))
    test_pairs = sts_test_pairs(args.data_dir)
    args.out.write_text(report(given, mined, provenance("benchmarks.corpus_mode", argv), test_pairs))
    for path, run in zip(args.given, given):
        pairs = f"-{pair_file(run).stem}" if pair_file(run) else ""
        archive(path, run, f"cpu-pairs{pairs}-{run['commit']}")
    for path, run in zip(args.mined, mined):
        config = run["config"]
        lexical = f"-lex{config['mine_lexical']}" if config.get("mine_lexical") else ""
        balanced = "-balanced" if config.get("mine_balance") else ""
        trained = "".join(f"-{key.replace('_', '-')}{value}" for key, value in changed_settings(run, mined[0]).items())
        archive(path, run, f"cpu-corpus-k{config['mine_neighbours']}{lexical}-r{round(100 * config['mine_random'])}"
                           f"{balanced}{trained}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
