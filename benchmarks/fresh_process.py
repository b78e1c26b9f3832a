"""One measurement in a freshly spawned process: nothing (caches, heap, threads, imports) carries over from an
earlier one, and the process's peak memory is the measurement's own."""
from __future__ import annotations

import multiprocessing
from queue import Empty
from typing import Any, Callable


def measured(name: str, function: Callable[..., dict[str, Any]], *args: Any, fresh: bool = True) -> dict[str, Any]:
    """`function(*args)` in a fresh process, or (`fresh=False`: a test that the benchmark runs, whose figures then
    carry this process's imports and caches) right here."""
    return in_fresh_process(name, function, *args) if fresh else function(*args)


def in_fresh_process(name: str, function: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """`function(*args)` run in a spawned process; its report, or RuntimeError naming `name` when it failed."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_report, args=(queue, function, *args))
    process.start()
    while True:  # a child killed outright (out of memory) never reports: notice it instead of waiting forever
        try:
            outcome = queue.get(timeout=5)
            break
        except Empty:
            if not process.is_alive():
                raise RuntimeError(f"{name} died with exit code {process.exitcode}") from None
    process.join()
    if "error" in outcome:
        raise RuntimeError(f"{name} failed: {outcome['error']}")
    return outcome


def _report(queue: Any, function: Callable[..., dict[str, Any]], *args: Any) -> None:
    try:
        queue.put(function(*args))
    except Exception as error:  # reported to the parent, which stops with it
        queue.put({"error": f"{type(error).__name__}: {error}"})
