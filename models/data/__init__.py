"""Data layer: STS test sets, the STS-B dev set and unlabelled pair pools."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from models.config import PipelineConfig
from models.data.errors import DataError
from models.data.hub import BENCHMARK_SPLITS, HUB_MIRROR_ENV, hub_identity, hub_mirror
from models.data.labelled import load_labelled_pairs
from models.data.pools import BUILT_IN_POOLS, POOLS, load_pool
from models.data.sts import TEST_SETS, LabelledPairs, load_stsb_dev, load_test_sets

DEV = "dev"  # STS-B dev: chooses the best cycle on the benchmarks
OWN_DEV = "own dev"  # the user's --dev-pairs: chooses the best cycle when given

__all__ = [
    "DEV",
    "OWN_DEV",
    "evaluation_sets",
    "with_evaluation",
    "tidy_note",
    "DataError",
    "BUILT_IN_POOLS",
    "HUB_MIRROR_ENV",
    "benchmark_dir",
    "hub_data_identity",
    "hub_mirror",
    "pool_origin_note",
    "LabelledPairs",
    "POOLS",
    "TEST_SETS",
    "load_benchmarks",
    "load_pool",
    "load_run_pool",
    "load_stsb_dev",
    "load_test_sets",
    "min_pool_pairs",
]


def benchmark_dir(setting: str | None) -> Path | None:
    """The benchmark folder: the setting, else $STS_DATA_DIR, else None (the hub)."""
    chosen = setting or os.environ.get("STS_DATA_DIR")
    return Path(chosen) if chosen else None


def load_benchmarks(data_dir: Path | None) -> tuple[dict[str, LabelledPairs], LabelledPairs]:
    """(test sets, STS-B dev): from the folder when one is given, else from the hub."""
    if data_dir is not None:
        return load_test_sets(data_dir), load_stsb_dev(data_dir)
    from models.data.hub import load_stsb_dev_from_hub, load_test_sets_from_hub

    return load_test_sets_from_hub(), load_stsb_dev_from_hub()


def load_run_pool(config: PipelineConfig) -> pd.DataFrame:
    """The run's unlabelled pairs: the configured pool, or `max_pairs` of them drawn by the seed.

    A random draw (kept in pool order) rather than the first N, so a capped `sts_sickr` pool still
    covers every benchmark's pairs.
    """
    pool = load_pool(config.pool, benchmark_dir(config.data_dir), Path(config.pool_path) if config.pool_path else None,
                     config.text_a, config.text_b, config.strict, config.encoding)
    attrs = dict(pool.attrs)
    tidy = attrs.get("tidy", {})
    if config.max_pairs and config.max_pairs < len(pool):
        pool = pool.sample(n=config.max_pairs, random_state=config.seed).sort_index().reset_index(drop=True)
    minimum = min_pool_pairs(config)
    if len(pool) < minimum:
        tidied = tidy_note(tidy)
        raise DataError(f"{config.pool_path or config.pool}: the pool has {len(pool)} usable pairs"
                        f"{f' (after the tidying: {tidied})' if tidied else ''}, fewer than one training batch; give "
                        f"at least {minimum} pairs (or lower --bi-batch-size / --cross-batch-size)")
    pool.attrs.update(attrs)
    return pool


def min_pool_pairs(config: PipelineConfig) -> int:
    """The fewest pairs a pool may have: one bi-encoder batch, and one cross-encoder batch (each pair given twice)."""
    return max(config.bi_batch_size, -(-config.cross_batch_size // 2))


def pool_origin_note(pool: pd.DataFrame, name: str) -> str:
    """Where a built-in pool came from, in words ('' for a custom pool): the folder's and the hub's differ in
    size (the hub copies lack the unscored STS15/16 rows)."""
    origin = pool.attrs.get("origin")
    return f"pool {name!r}: {len(pool):,} pairs from {origin}" if origin else ""


def hub_data_identity(config: PipelineConfig) -> str:
    """The hub data a run without an STS folder reads (the built-in pool's splits, the benchmarks when it scores
    them), by dataset id and content."""
    pool_splits = load_pool(config.pool).attrs["hub_splits"] if config.pool in BUILT_IN_POOLS else []
    return hub_identity([*pool_splits, *(BENCHMARK_SPLITS if config.scores_sts else ())])


def with_evaluation(config: PipelineConfig) -> PipelineConfig:
    """The run's --eval made explicit: sts when the STS benchmarks are at hand (the folder is found; or, with no
    folder, a hub mirror is set or the built-in pool comes from the hub anyway), else dev with --dev-pairs, else
    none. Offline, preflight ends a run that needs the hub with one line before any work."""
    if config.eval is not None:
        return config
    local = benchmark_dir(config.data_dir)
    at_hand = local.is_dir() if local is not None else hub_mirror() is not None or config.pool in BUILT_IN_POOLS
    return config.replace(eval="sts" if at_hand else "dev" if config.dev_pairs else "none")


def evaluation_sets(config: PipelineConfig) -> dict[str, LabelledPairs]:
    """What a run scores: the 7 STS test sets and STS-B dev (`--eval sts`) and the user's --dev-pairs."""
    sets: dict[str, LabelledPairs] = {}
    if config.eval == "sts":
        test_sets, dev = load_benchmarks(benchmark_dir(config.data_dir))
        sets = {**test_sets, DEV: dev}
    if config.dev_pairs and config.eval in ("sts", "dev"):
        sets[OWN_DEV] = load_labelled_pairs(Path(config.dev_pairs), config.text_a, config.text_b, config.label_column,
                                            config.encoding)
    return sets


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
