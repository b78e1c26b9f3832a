"""The whole Trans-Encoder run as plain Python, for a bare GPU box without Prefect.

`python -m models.pipeline --preset cpu` runs warm-up, the cycles and the evaluation in
one process and writes models and a results.json under --out. The Prefect flow
(`python -m flows.full_cycle`) runs the same stages as cached, resumable tasks.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from models.cli import parse_config
from models.config import PipelineConfig
import pandas as pd

from models.data import LabelledPairs, benchmark_dir, load_benchmarks, load_pool
from models.evaluation import DEV
from models.folders import (bi_labels, bi_start, cross_labels, cross_start, evaluate_folder, train_bi_folder,
                            train_cross_folder, warm_up_folder)
from models.report import text_table
from models.runtime import Runtime, seed_everything
from models.sources import resolve_model_source
from models.stages import transform_labels


@dataclass
class RunResults:
    """Scores per model (label -> scores), the chosen cycles and the wall time of each stage."""

    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    best: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def rows(self) -> list[tuple[str, Mapping[str, float]]]:
        return list(self.scores.items())


def data_dir_of(config: PipelineConfig) -> Path | None:
    return benchmark_dir(config.data_dir)


def load_run_pool(config: PipelineConfig) -> pd.DataFrame:
    """The run's unlabelled pairs: the configured pool, or `max_pairs` of them drawn by the seed.

    A random draw (kept in pool order) rather than the first N, so a capped `sts_sickr` pool still
    covers every benchmark's pairs.
    """
    pool = load_pool(config.pool, data_dir_of(config), Path(config.pool_path) if config.pool_path else None,
                     config.text_a, config.text_b)
    if not config.max_pairs or config.max_pairs >= len(pool):
        return pool
    return pool.sample(n=config.max_pairs, random_state=config.seed).sort_index().reset_index(drop=True)


def load_inputs(config: PipelineConfig) -> tuple[list[str], list[str], dict[str, LabelledPairs], LabelledPairs]:
    """Pool and benchmarks, read (and so checked) before any long work starts."""
    pool = load_run_pool(config)
    test_sets, dev = load_benchmarks(data_dir_of(config))
    return pool["text_a"].tolist(), pool["text_b"].tolist(), test_sets, dev


def best_cycle(scores: Mapping[str, Mapping[str, float]], kind: str, cycles: int) -> int:
    """The cycle whose `kind` model scores highest on STS-B dev (never on test)."""
    return max(range(1, cycles + 1), key=lambda c: scores[f"cycle {c} {kind}"][DEV])


def run_pipeline(config: PipelineConfig, out: Path) -> RunResults:
    seed_everything(config.seed)
    runtime = Runtime.create(config.device, config.precision, config.seed)  # type: ignore[arg-type]
    texts_a, texts_b, test_sets, dev = load_inputs(config)
    results = RunResults()

    def timed(name: str, fn, *args):  # noqa: ANN001, ANN202 - a tiny local stopwatch
        started = time.perf_counter()
        value = fn(*args)
        results.seconds[name] = round(time.perf_counter() - started, 1)
        return value

    results.scores["start bi"] = timed("evaluate start", evaluate_folder, "bi", config.model, config,
                                       test_sets, dev, runtime)
    warm = out / "warmup"
    timed("warm-up", warm_up_folder, config, [*texts_a, *texts_b], runtime, warm)
    latest_bi = warm
    for cycle in range(1, config.cycles + 1):
        labels = transform_labels(timed(f"cycle {cycle} bi labels", bi_labels, latest_bi, texts_a, texts_b,
                                        config, runtime), config.label_transform)
        cross = out / f"cycle{cycle}" / "cross-encoder"
        cross_from = cross_start(config, Path(resolve_model_source(config.model)), latest_bi)
        timed(f"cycle {cycle} fit cross", train_cross_folder, cross_from, texts_a, texts_b, labels, config, runtime,
              cross)
        silver = timed(f"cycle {cycle} cross labels", cross_labels, cross, texts_a, texts_b, config, runtime)
        latest_bi = out / f"cycle{cycle}" / "bi-encoder"
        timed(f"cycle {cycle} distil bi", train_bi_folder, bi_start(config, warm, cross), texts_a, texts_b,
              silver, config, runtime, latest_bi)
        for kind, folder in (("bi", latest_bi), ("cross", cross)):
            results.scores[f"cycle {cycle} {kind}"] = timed(f"cycle {cycle} evaluate {kind}", evaluate_folder,
                                                            kind, folder, config, test_sets, dev, runtime)
    results.best = {kind: best_cycle(results.scores, kind, config.cycles) for kind in ("bi", "cross")}
    (out / "results.json").write_text(json.dumps({"config": config.to_dict(), "scores": results.scores,
                                                   "best_cycle": results.best, "seconds": results.seconds},
                                                  indent=2) + "\n")
    return results


def main(argv: Sequence[str] | None = None) -> None:
    config, args = parse_config(argv, __doc__.splitlines()[0])
    out = Path(args.out)
    started = time.perf_counter()
    results = run_pipeline(config, out)
    print(text_table(results.rows()))
    print(f"best cycle on STS-B dev: bi {results.best['bi']}, cross {results.best['cross']}; "
          f"wall time {time.perf_counter() - started:.0f} s; models and results.json in {out}")


if __name__ == "__main__":
    main()
