"""Every figure a document quotes, derived from the benchmark output that recorded it, so no quote can drift.

A document quotes a figure between two HTML comments, invisible once markdown is rendered and plain text in a
YAML value, a YAML comment or a Python comment:

    the cold run took <!--fig:cpu/minutes-->36<!--/fig--> min

    python -m benchmarks.figures --list                  # every figure's name, value and source
    python -m benchmarks.figures --write README.md ...   # refresh the quoted values
    python -m benchmarks.figures --check README.md ...   # list stale or unknown quotes (file:line), exit 1

Python code asks `figure(name)` instead of quoting. A figure's name says where it comes from:
- `NAME/...` for benchmarks/manifests/NAME.json and `memory/NAME/...` for benchmarks/memory/NAME.json (a run
  manifest): `minutes`, `wall seconds`, `stage seconds`, `peak MB`, `commit`, `date`, and `ROW/avg`, `ROW/dev`
  for each scored row (`cpu/cycle 1 bi/avg`, `cpu/start bi/dev`);
- `speed/TASK/ratio` and `speed/KEY` from benchmarks/speed.json (benchmarks/speed.py);
- `int8/LABELLER/speed-up`, `int8/LABELLER/dev loss` from the table benchmarks/int8_labels.py wrote in INT8.md;
- the ratios in RATIOS, one run's wall seconds over another's (`... ratio`) and the speed-up (`... speed-up`).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Iterator, Mapping, Sequence

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MANIFESTS = HERE / "manifests"
MEMORY = HERE / "memory"
SPEED = HERE / "speed.json"
INT8 = HERE / "INT8.md"

MARKER = re.compile(r"<!--fig:(?P<name>[^>]*?)-->(?P<value>.*?)<!--/fig-->")
# Where a document names a run manifest: each must exist (tests/test_figures.py).
MANIFEST_PATH = re.compile(r"benchmarks/(?:manifests|memory)/[\w.+-]+\.json")
# The files that quote figures: the docs, and the places that tell users what a preset costs.
QUOTING: tuple[str, ...] = ("README.md", "docs/*.md", "benchmarks/*.md", "prefect.yaml", "pipeline/presets/*.yaml",
                            "pipeline/cli.py", "models/config.py")

# NAME -> (run, reference): `NAME ratio` is the run's wall seconds over the reference's, `NAME speed-up` its inverse.
RATIOS: dict[str, tuple[str, str]] = {
    # The first full cpu-preset run timed after the speed work against the one before it (3,000 pairs).
    "memory/cpu-full-3a0aca3/wall": ("memory/cpu-full-3a0aca3", "memory/cpu-full-42bdc92"),
    # Today's (12,000-pair) cpu preset, cold, after the speed work against the same settings before it.
    "memory/cpu12k-after-dd76f2f/wall": ("memory/cpu12k-after-dd76f2f", "memory/cpu12k-before-42bdc92"),
}


@dataclass(frozen=True)
class Figure:
    """One quotable number (or commit, or date) and the recorded output it is read from."""

    value: float | int | str
    form: str  # the format spec it is quoted with
    source: Path

    @property
    def text(self) -> str:
        return format(self.value, self.form)


def manifest_figures(path: Path, prefix: str) -> dict[str, Figure]:
    """A run manifest's time, largest stage peak, commit, date and every scored row's 7-task average and dev."""
    manifest = json.loads(path.read_text())
    wall = manifest["wall_seconds"]
    found = {
        f"{prefix}/minutes": Figure(round(wall / 60), "d", path),
        f"{prefix}/wall seconds": Figure(wall, ",.0f", path),
        f"{prefix}/stage seconds": Figure(sum(entry["seconds"] for entry in manifest["entries"]), ",.0f", path),
        f"{prefix}/commit": Figure(manifest["commit"], "", path),
        f"{prefix}/date": Figure(manifest["started"][:10], "", path),
    }
    peaks = [entry["peak_rss_mb"] for entry in manifest["entries"] if entry.get("peak_rss_mb")]
    if peaks:
        found[f"{prefix}/peak MB"] = Figure(max(peaks), ",d", path)
    for row, scores in manifest["scores"].items():
        for metric in ("avg", "dev"):
            if metric in scores:
                found[f"{prefix}/{row}/{metric}"] = Figure(scores[metric], ".2f", path)
    return found


def speed_figures(path: Path = SPEED) -> dict[str, Figure]:
    """benchmarks/speed.json: each task's throughput ratio (ours over sentence-transformers) and the agreement."""
    report = json.loads(path.read_text())
    found = {f"speed/{task}/ratio": Figure(report[f"{task}_ratio"], ".2f", path) for task in report["tasks"]}
    forms = {"bi_cosine_max_gap": ".1e", "cross_score_spearman": ".5f", "encode_gflops": ".1f",
             "matmul_peak_gflops": ".1f", "encode_peak_fraction": ".0%", "bi_onnx_cosine_max_gap": ".1e",
             "cross_onnx_score_max_gap": ".1e", "bi_scoring_int8_torch_ratio": ".2f",
             "cross_labelling_int8_torch_ratio": ".2f", "int8_dev_loss_max": ".2f",
             "bi_scoring_onnx_backend_ratio": ".2f", "cross_labelling_onnx_backend_ratio": ".2f"}
    return found | {f"speed/{key}": Figure(report[key], form, path) for key, form in forms.items() if key in report}


def int8_figures(path: Path = INT8) -> dict[str, Figure]:
    """The table benchmarks/int8_labels.py wrote: each labeller's speed-up and dev Spearman lost in int8."""
    found = {}
    for line in path.read_text().splitlines():
        cells = [cell.strip().strip("*") for cell in line.strip("|").split("|")]
        if len(cells) == 7 and cells[0].startswith(("bi ", "cross ")):
            labeller, speed_up, dev_fp32, dev_int8 = cells[0], cells[3], cells[5], cells[6]
            found[f"int8/{labeller}/speed-up"] = Figure(float(speed_up.rstrip("x")), ".2f", path)
            found[f"int8/{labeller}/dev loss"] = Figure(float(dev_fp32) - float(dev_int8), ".1f", path)
    return found


@cache
def figures() -> Mapping[str, Figure]:
    """Every quotable figure by name."""
    found: dict[str, Figure] = {}
    for path in sorted(MANIFESTS.glob("*.json")):
        found |= manifest_figures(path, path.stem)
    for path in sorted(MEMORY.glob("*.json")):
        found |= manifest_figures(path, f"memory/{path.stem}")
    found |= speed_figures() | int8_figures()
    for name, (run, reference) in RATIOS.items():
        seconds, reference_seconds = found[f"{run}/wall seconds"], found[f"{reference}/wall seconds"]
        ratio = float(seconds.value) / float(reference_seconds.value)
        found[f"{name} ratio"] = Figure(ratio, ".2f", seconds.source)
        found[f"{name} speed-up"] = Figure(1 / ratio, ".2f", seconds.source)
    return found


def figure(name: str) -> str:
    """A figure as documents quote it, for Python code, which never quotes one by hand."""
    try:
        return figures()[name].text
    except KeyError:
        raise KeyError(f"no figure {name!r}; `python -m benchmarks.figures --list` lists them") from None


def quoting_files(root: Path = REPO) -> list[Path]:
    return sorted({path for pattern in QUOTING for path in root.glob(pattern)})


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def problems(path: Path) -> Iterator[Problem]:
    """Each quote in the file that names no figure or shows another value than its source's."""
    known = figures()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        for quote in MARKER.finditer(line):
            name, value = quote["name"], quote["value"]
            if name not in known:
                yield Problem(path, number, f"unknown figure {name!r}")
            elif value != known[name].text:
                yield Problem(path, number, f"{name} is {known[name].text} ({_relative(known[name].source)}), "
                                            f"quoted as {value!r}")


def refreshed(text: str) -> str:
    """The text with every known figure's quote set to its source's value (unknown names are left for --check)."""
    known = figures()

    def quote(match: re.Match[str]) -> str:
        name = match["name"]
        value = known[name].text if name in known else match["value"]
        return f"<!--fig:{name}-->{value}<!--/fig-->"

    return MARKER.sub(quote, text)


def _relative(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--check", action="store_true", help="list stale or unknown quotes and exit 1 if any")
    action.add_argument("--write", action="store_true", help="refresh the quoted values in place")
    action.add_argument("--list", action="store_true", help="print every figure: name, value, source")
    parser.add_argument("files", nargs="*", type=Path,
                        help=f"the files to check or refresh (default: {' '.join(QUOTING)})")
    args = parser.parse_args(argv)
    if args.list:
        for name, found in figures().items():
            print(f"{name}\t{found.text}\t{_relative(found.source)}")
        return
    files = args.files or quoting_files()
    if args.write:
        for path in files:
            text = path.read_text()
            if refreshed(text) != text:
                path.write_text(refreshed(text))
                print(f"refreshed {path}")
    found = [problem for path in files for problem in problems(path)]
    for problem in found:
        print(problem, file=sys.stderr)
    if found:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
