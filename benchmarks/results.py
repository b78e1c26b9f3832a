"""Write benchmarks/RESULTS.md (and its plot) from the manifests of real runs, never by hand.

    python -m benchmarks.results --runs runs/experiments

Reads <runs>/experiments.jsonl (written by benchmarks/experiments.py), takes each experiment's
latest successful run, and tabulates every model of every cycle with the run's command, commit,
date, machine and times, next to the start model and the paper's published rows. Settings are
compared on STS-B dev only; the test columns are reported, never used to choose.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from artifacts.manifest import read_manifest
from models.data import DEV
from models.metrics import AVERAGE
from models.reporting.plots import plot_cycles
from models.reporting.report import markdown_table
from models.reporting.score_rows import ScoreRow
from pipeline.plan import recommended

HERE = Path(__file__).resolve().parent

# ../shared/reference/recipe.md, "Reported results (7-task average)": SimCSE start, Trans-Encoder bi, cross.
PAPER_ROWS: tuple[tuple[str, float, float, float], ...] = (
    ("BERT-base", 76.21, 80.41, 79.90),
    ("RoBERTa-base", 76.10, 80.47, 81.15),
    ("BERT-large", 78.42, 82.65, 82.52),
    ("RoBERTa-large", 78.92, 82.93, 82.93),
)


def latest_runs(folders: Sequence[Path]) -> dict[str, dict[str, Any]]:
    """name -> {experiment record, manifest}: the last successful run of each experiment over the folders'
    ledgers, read in order (a later folder's run of the same name replaces an earlier one)."""
    chosen: dict[str, dict[str, Any]] = {}
    for runs in folders:
        for line in (runs / "experiments.jsonl").read_text().splitlines():
            record = json.loads(line)
            if record["returncode"] == 0 and record["manifest"]:
                manifest = read_manifest(runs / record["manifest"])  # an absolute path stays as it is
                chosen.pop(record["name"], None)
                chosen[record["name"]] = {**record, "run": manifest}
    if not chosen:
        raise SystemExit(f"no finished experiment in {', '.join(str(f / 'experiments.jsonl') for f in folders)}; "
                         "run benchmarks/experiments.py")
    return chosen


def archive(experiments: Mapping[str, Mapping[str, Any]], folder: Path) -> None:
    """Keep the manifests the tables came from beside RESULTS.md, so the file can be regenerated from them."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for name, record in experiments.items():
        (folder / f"{name}.json").write_text(json.dumps(record["run"], indent=2) + "\n")
        lines.append(json.dumps({k: v for k, v in record.items() if k != "run"} | {"manifest": f"{name}.json"}))
    (folder / "experiments.jsonl").write_text("\n".join(lines) + "\n")


def export_scores(run: Mapping[str, Any], key: str) -> Mapping[str, float]:
    """The scores of one exported model (key 'bi', 'cross', or 'member bi' in a mutual run): its best cycle."""
    return run["scores"][f"cycle {run['best_cycle'][key]} {key}"]


def recommended_key(run: Mapping[str, Any], kind: str) -> str:
    """The export of `kind` a user should take: of the run's members, the one best on STS-B dev."""
    return recommended(run["best_cycle"], run["scores"], DEV)[kind][0]


def exported(run: Mapping[str, Any], kind: str) -> Mapping[str, float]:
    return export_scores(run, recommended_key(run, kind))


def start_rows(run: Mapping[str, Any]) -> dict[str, Mapping[str, float]]:
    return {label: scores for label, scores in run["scores"].items() if ScoreRow.parse(label).is_start}


def stage_seconds(manifest: Mapping[str, Any]) -> float:
    """What the run costs on its own: every stage's time, cached stages at the time they took when they ran."""
    return sum(entry["seconds"] for entry in manifest["entries"])


def score_rows(experiments: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, Mapping[str, float]]]:
    """The start models once each (by their row label), then every cycle's models of every run."""
    starts: dict[str, Mapping[str, float]] = {}
    for record in experiments.values():
        for label, scores in start_rows(record["run"]).items():
            starts.setdefault(label.replace("start bi", "start minilm-l6 bi"), scores)
    rows: list[tuple[str, Mapping[str, float]]] = list(starts.items())
    for name, record in experiments.items():
        rows += [(f"{name}: {label}", scores) for label, scores in record["run"]["scores"].items()
                 if not ScoreRow.parse(label).is_start]
    return rows


def dev_choices(experiments: Mapping[str, Mapping[str, Any]], base: str = "base") -> list[str]:
    """Each run's dev-best bi and cross, and the change against the base run: what settings are chosen by."""
    def best_dev(run: Mapping[str, Any], kind: str) -> tuple[int, float]:
        key = recommended_key(run, kind)
        return run["best_cycle"][key], export_scores(run, key)[DEV]

    reference = experiments.get(base, {}).get("run")
    lines = ["| experiment | what changes | bi: best cycle, dev (vs base) | cross: best cycle, dev (vs base) |",
             "|---|---|---|---|"]
    for name, record in experiments.items():
        cells = []
        for kind in ("bi", "cross"):
            cycle, dev = best_dev(record["run"], kind)
            delta = f" ({dev - best_dev(reference, kind)[1]:+.2f})" if reference else ""
            cells.append(f"{cycle}: {dev:.2f}{delta}")
        lines.append(f"| {name} | {record['ablation']} | {cells[0]} | {cells[1]} |")
    return lines


def run_lines(experiments: Mapping[str, Mapping[str, Any]]) -> list[str]:
    lines = ["| experiment | command | commit | started (UTC) | machine | wall s (this call) | stage s (standalone) |",
             "|---|---|---|---|---|---|---|"]
    for name, record in experiments.items():
        run = record["run"]
        command = " ".join(["python", *record["command"][1:]])
        lines.append(f"| {name} | `{command}` | {run['commit']} | {run['started']} | {run['machine']} | "
                     f"{run['wall_seconds']:.0f} | {stage_seconds(run):.0f} |")
    return lines


def best_export(experiments: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Every exported (dev-chosen) model of each run, its 7-task average and dev, beside the start models."""
    lines = ["| experiment | export | cycle | avg | dev | start avg | stage s |", "|---|---|---|---|---|---|---|"]
    for name, record in experiments.items():
        run = record["run"]
        start = " / ".join(f"{scores[AVERAGE]:.2f}" for scores in start_rows(run).values())
        for key in run["best_cycle"]:
            scores = export_scores(run, key)
            lines.append(f"| {name} | {key} | {run['best_cycle'][key]} | {scores[AVERAGE]:.2f} | {scores[DEV]:.2f} | "
                         f"{start} | {stage_seconds(run):.0f} |")
    return lines


@dataclass(frozen=True)
class Target:
    """Issue 9: the 7-task average of an exported model of a preset run, within a wall-time budget."""

    experiment: str
    export: str  # an export key ('bi', 'cross', 'mpnet-base bi'), or 'best cross' for any member's cross
    value: float
    seconds: float


TARGETS: tuple[Target, ...] = (
    Target("cpu", "bi", 80.0, 1800), Target("cpu", "cross", 79.0, 1800),
    Target("mutual-cpu", "mpnet-base bi", 81.0, 10800), Target("mutual-cpu", "best cross", 81.0, 10800),
    Target("mutual-cpu", "minilm-l6 bi", 80.5, 10800),
)


def target_lines(experiments: Mapping[str, Mapping[str, Any]]) -> list[str]:
    lines = []
    for target in TARGETS:
        record = experiments.get(target.experiment)
        if record is None:
            lines.append(f"- `{target.experiment}` {target.export} >= {target.value}: not run yet")
            continue
        run = record["run"]
        scores = exported(run, "cross") if target.export == "best cross" else export_scores(run, target.export)
        seconds = stage_seconds(run)
        reached = scores[AVERAGE] >= target.value and seconds <= target.seconds
        lines.append(f"- `{target.experiment}` {target.export}: {scores[AVERAGE]:.2f} in {seconds:.0f} s of stages; "
                     f"target >= {target.value} within {target.seconds:.0f} s "
                     f"{'reached' if reached else 'not reached'}")
    return lines


def render(experiments: Mapping[str, Mapping[str, Any]], plot: Path | None, runs: Sequence[Path]) -> str:
    paper = ["| model | SimCSE start | Trans-Encoder bi | Trans-Encoder cross |", "|---|---|---|---|"]
    paper += [f"| {m} | {s:.2f} | {b:.2f} | {c:.2f} |" for m, s, b, c in PAPER_ROWS]
    figure = f"![7-task average per cycle]({plot.name})\n" if plot else ""
    return "\n".join([
        "# Results",
        "",
        f"Generated by `python -m benchmarks.results --runs {' '.join(map(str, runs))}` from the run manifests; "
        "do not edit by hand.",
        "Spearman x100; `avg` is the 7-task average (STS12-16, STS-B, SICK-R test), `dev` is STS-B dev,",
        "the only column used to choose settings. Start model: all-MiniLM-L6-v2, a *supervised* sentence",
        "encoder, so these runs are label-free adaptation, not the paper's unsupervised setting.",
        "`stage s` adds up each stage's time as measured when it ran (a cached stage counts what it took then);",
        "the 2 cores are shared, so a run that overlapped another job (see its wall time under Runs) reads slow.",
        "",
        "## Targets (issue 9: exported models' 7-task average, standalone stage seconds on 2 cores)",
        *target_lines(experiments),
        "",
        "## Exported models (best cycle on STS-B dev)",
        *best_export(experiments),
        "",
        "## Selection on STS-B dev",
        *dev_choices(experiments),
        "",
        "## Every model of every cycle",
        markdown_table(score_rows(experiments)),
        "",
        figure,
        "## Paper (Trans-Encoder, ICLR 2022; SimCSE starts, unsupervised, GPU)",
        *paper,
        "",
        "## Runs",
        *run_lines(experiments),
        "",
    ])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, nargs="+", default=[Path("runs/experiments")],
                        help="the experiments' --out folders (or archives); a later folder's run replaces an "
                             "earlier one of the same name")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--plot-run", default="cycles3", help="experiment whose cycles the PNG shows")
    parser.add_argument("--archive", type=Path, help="also copy the manifests used here (and a ledger) to this folder")
    args = parser.parse_args(argv)
    experiments = latest_runs(args.runs)
    if args.archive:
        archive(experiments, args.archive)
    plot = None
    if args.plot_run in experiments:
        run = experiments[args.plot_run]["run"]
        plot = plot_cycles(run["scores"], run["config"]["cycles"], args.out.with_name("results-cycles.png"),
                           f"{args.plot_run}: {run['run_name']}")
    args.out.write_text(render(experiments, plot, args.runs))
    print(f"wrote {args.out}" + (f" and {plot}" if plot else ""))


if __name__ == "__main__":
    main()
