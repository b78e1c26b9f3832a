"""Peak memory: the sampler, and the figure a stage reports, rise by what the work really allocated."""
from __future__ import annotations

import dataclasses
import multiprocessing
import time
from pathlib import Path

import numpy as np

from models.config import PipelineConfig
from models.memory import image_peak_rss_mb, peak_rss, rss_mb
from pipeline.registry import STAGES
from pipeline.stage import StageContext

BLOCK_MB = 400


def resident_block(mb: int) -> np.ndarray:
    """`mb` megabytes with every page written, so all of them are resident."""
    return np.ones(mb * 2**20, dtype=np.uint8)


def about_a_block(rise_mb: float) -> bool:
    return 0.8 * BLOCK_MB <= rise_mb <= 1.25 * BLOCK_MB


def test_the_sampler_catches_a_block_freed_before_the_end() -> None:
    before = rss_mb()
    with peak_rss(interval=0.01) as peak:
        block = resident_block(BLOCK_MB)
        # a bounded wait for a look at the whole block, not a fixed pause: a look taken while np.ones was still
        # writing pages may already pass half the block
        deadline = time.monotonic() + 10
        while not about_a_block(peak.mb - before) and time.monotonic() < deadline:
            time.sleep(0.01)
        del block
    assert rss_mb() < before + BLOCK_MB / 2, "the block really was freed inside"
    assert about_a_block(peak.mb - before), (before, peak.mb)


def test_a_stage_reports_the_peak_of_its_own_work(tmp_path: Path) -> None:
    kept: list[np.ndarray] = []

    def allocating(context: StageContext) -> dict[str, object]:
        kept.append(resident_block(BLOCK_MB))  # still resident when the stage ends
        context.target.write_bytes(b"done")
        return {}

    stage = dataclasses.replace(STAGES["merge-labels"], run=allocating)
    before = rss_mb()
    result = stage.execute(StageContext(PipelineConfig(device="cpu"), {}, tmp_path / "output.bin"))
    assert result.peak_rss_mb is not None and about_a_block(result.peak_rss_mb - before), (before, result)


def test_a_spawned_childs_peak_is_its_own_not_its_parents() -> None:
    """benchmarks/speed.py measures each side in a spawned process: its peak must not start at the parent's."""
    block = resident_block(BLOCK_MB)
    parent = rss_mb()
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        child = pool.apply(image_peak_rss_mb)
    assert image_peak_rss_mb() >= parent and child < parent - 0.8 * BLOCK_MB, (child, parent)
    del block
