"""Data layer: STS test sets, the STS-B dev set and unlabelled pair pools."""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from models.config import PipelineConfig
from models.data.errors import DataError
from models.data.pools import POOLS, load_pool
from models.data.sts import TEST_SETS, LabelledPairs, load_stsb_dev, load_test_sets

__all__ = [
    "DataError",
    "benchmark_dir",
    "LabelledPairs",
    "POOLS",
    "TEST_SETS",
    "load_benchmarks",
    "load_pool",
    "load_run_pool",
    "load_stsb_dev",
    "load_test_sets",
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
                     config.text_a, config.text_b)
    if not config.max_pairs or config.max_pairs >= len(pool):
        return pool
    return pool.sample(n=config.max_pairs, random_state=config.seed).sort_index().reset_index(drop=True)
