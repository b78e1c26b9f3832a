"""Peak resident memory of a block of work, sampled, so each stage can report its own peak (not the process's)."""
from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import resource
import threading
from dataclasses import dataclass
from typing import Iterator

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_mb() -> float:
    """This process's resident set now (Linux /proc), else its lifetime peak (other systems)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * _PAGE / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def image_peak_rss_mb() -> float:
    """This process's peak resident set since it started its program (Linux VmHWM). The lifetime peak (ru_maxrss)
    carries over exec: a spawned child would report its parent's peak when that is larger."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Peak:
    mb: float = 0.0


@contextlib.contextmanager
def peak_rss(interval: float = 0.1) -> Iterator[Peak]:
    """The largest resident set seen while the block runs, sampled every `interval` seconds."""
    peak, done = Peak(rss_mb()), threading.Event()

    def sample() -> None:
        while not done.wait(interval):
            peak.mb = max(peak.mb, rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        done.set()
        sampler.join()
        peak.mb = round(max(peak.mb, rss_mb()))


_MALLOC_TRIM = getattr(ctypes.CDLL(None), "malloc_trim", None)  # glibc only


def release_free_memory() -> None:
    """Hand the heap's free pages back to the system (glibc keeps them after a stage's tensors are freed), so the
    next stage starts from what is live, not from the last stage's peak. A no-op where malloc_trim is missing."""
    gc.collect()
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
