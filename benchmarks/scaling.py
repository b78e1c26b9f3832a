"""Each pool-sized stage's time and peak memory as the pool grows: benchmarks/SCALING.md and scaling.png.

    python -m benchmarks.scaling                      # pools of 1k, 3k, 10k, 37k pairs (~25 min on 2 cores)
    python -m benchmarks.scaling --sizes 200 400 --train-sizes 200 --out /tmp/SCALING.md

Every stage runs through `Stage.execute` (pipeline/stage.py), as in a `cpu`-preset run (its settings, embedding
cache off), each in a fresh process so its peak resident set is its own: reading the pool, labelling it with the
start bi-encoder and with a cross-encoder, and, at `--train-sizes`, fitting the cross-encoder and distilling the
bi-encoder on those labels (their time follows their steps, so two sizes show the slope).
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from benchmarks.fresh_process import measured  # noqa: E402
from benchmarks.provenance import provenance  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SIZES = (1000, 3000, 10_000, 37_000)
TRAIN_SIZES = (1000, 3000)


def stage_report(stage: str, settings: dict[str, Any], inputs: dict[str, str], target: str) -> dict[str, Any]:
    """In the child: one stage as the runners execute it; its seconds, peak RSS (MB), output path and pairs."""
    from artifacts.store import Artifact
    from pipeline.presets import preset
    from pipeline.registry import STAGES
    from pipeline.stage import StageContext

    inputs_as_artifacts = {name: Artifact(path, "-") for name, path in inputs.items()}
    result = STAGES[stage].execute(StageContext(preset("cpu", **settings), inputs_as_artifacts, Path(target), cycle=1))
    return {"seconds": result.seconds, "peak_rss_mb": result.peak_rss_mb, "path": result.artifact.path,
            "pairs": result.metrics.get("pairs")}


def measure(sizes: Sequence[int], train_sizes: Sequence[int], model: str, data_dir: str, temp: Path,
            device: str = "auto", fresh: bool = True) -> list[dict[str, Any]]:
    """One row per (pool size, stage); a row's size is the pool as read (a smaller pool is used whole)."""
    import torch

    from models.encoders.cross_encoder import CrossEncoder
    from models.encoders.sources import resolve_model_source

    start = resolve_model_source(model)
    torch.manual_seed(0)
    CrossEncoder.from_pretrained(start).save(temp / "cross")  # a seeded head: labelling costs what a trained one does
    rows: list[dict[str, Any]] = []
    for size in sizes:
        settings = {"model": model, "labellers": None, "data_dir": data_dir, "max_pairs": size,
                    "embedding_cache": False, "device": device}
        folder = temp / str(size)
        pairs = size

        def run(name: str, inputs: dict[str, str], suffix: str = ".parquet") -> str:
            outcome = measured(f"{name} at {size} pairs", stage_report, name, settings, inputs,
                               str(folder / f"{name}{suffix}"), fresh=fresh)
            rows.append({"size": outcome["pairs"] if name == "pool" else pairs, "stage": name,
                         "seconds": outcome["seconds"], "peak_rss_mb": outcome["peak_rss_mb"]})
            print(f"{rows[-1]['size']:>6} pairs  {name:<13} {outcome['seconds']:8.1f} s  "
                  f"{outcome['peak_rss_mb']:6.0f} MB", flush=True)
            return outcome["path"]

        pool = run("pool", {})
        pairs = rows[-1]["size"]
        bi_labels = run("bi-labels", {"bi": start, "pool": pool})
        cross_labels = run("cross-labels", {"cross": str(temp / "cross"), "pool": pool})
        if size in train_sizes:
            run("cross", {"start": start, "labels": bi_labels}, "")
            run("bi", {"start": start, "labels": cross_labels}, "")
    return rows


def plot(rows: list[dict[str, Any]], path: Path) -> Path:
    """Seconds (log-log, with a linear guide) and peak RSS against pool size, one line per stage."""
    figure, (time_axis, memory_axis) = plt.subplots(1, 2, figsize=(10, 4), dpi=120)
    for stage in dict.fromkeys(row["stage"] for row in rows):
        points = [(row["size"], row["seconds"], row["peak_rss_mb"]) for row in rows if row["stage"] == stage]
        sizes = [p[0] for p in points]
        time_axis.plot(sizes, [p[1] for p in points], marker="o", label=stage)
        memory_axis.plot(sizes, [p[2] for p in points], marker="o", label=stage)
    time_axis.set(xscale="log", yscale="log", xlabel="pool pairs", ylabel="seconds", title="stage time")
    memory_axis.set(xscale="log", xlabel="pool pairs", ylabel="peak RSS (MB)", title="stage peak memory",
                    ylim=(0, None))
    time_axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def report(rows: list[dict[str, Any]], argv: Sequence[str] | None, figure: Path) -> str:
    sizes = list(dict.fromkeys(row["size"] for row in rows))
    stages = list(dict.fromkeys(row["stage"] for row in rows))
    cell = {(row["stage"], row["size"]): row for row in rows}

    def line(stage: str, key: str, fmt: str) -> str:
        values = [format(cell[stage, size][key], fmt) if (stage, size) in cell else "-" for size in sizes]
        return f"| {stage} | " + " | ".join(values) + " |"

    header = "| stage | " + " | ".join(f"{size:,} pairs" for size in sizes) + " |\n|---|" + "---|" * len(sizes)
    return f"""# Scaling with the pool

{provenance("benchmarks.scaling", argv)}. Each stage of a `cpu`-preset run that reads the pool, run through
`Stage.execute` in a fresh process (embedding cache off), at each pool size (pairs drawn from `sts_sickr`).

Seconds:

{header}
{chr(10).join(line(stage, "seconds", ".1f") for stage in stages)}

Peak resident set (MB, the whole process: Python, torch and the model included):

{header}
{chr(10).join(line(stage, "peak_rss_mb", ".0f") for stage in stages)}

![time and memory against pool size]({figure.name})
"""


def mining_section() -> str:
    """The corpus-mining rows, measured by benchmarks/mining_scaling.py into their own file, kept in SCALING.md."""
    mining = REPO / "benchmarks" / "mining_scaling.md"
    return "\n" + mining.read_text() if mining.is_file() else ""


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[2:4]))
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="pool sizes (pairs)")
    parser.add_argument("--train-sizes", type=int, nargs="*", default=list(TRAIN_SIZES),
                        help="sizes at which the two training stages run too")
    parser.add_argument("--model", default="minilm-l6")
    parser.add_argument("--data-dir", default=os.environ.get("STS_DATA_DIR"),
                        help="STS folder (default: $STS_DATA_DIR)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "SCALING.md")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (as the pipeline's --device)")
    parser.add_argument("--in-process", action="store_true",
                        help="measure here instead of in a fresh process each (a check that the benchmark runs: its "
                             "figures then carry this process's imports and caches)")
    args = parser.parse_args(argv)
    if not args.data_dir:
        parser.error("the pool is drawn from the STS folder: pass --data-dir or set STS_DATA_DIR")
    with tempfile.TemporaryDirectory() as temp:
        rows = measure(args.sizes, args.train_sizes, args.model, args.data_dir, Path(temp), args.device,
                       fresh=not args.in_process)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    figure = plot(rows, args.out.with_name("scaling.png"))
    args.out.write_text(report(rows, argv, figure) + mining_section())
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    print(args.out.read_text())


if __name__ == "__main__":
    main()
