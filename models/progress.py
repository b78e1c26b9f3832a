"""Progress reporting that works without Prefect: a tqdm bar plus an optional callback.

The callback is how the Prefect layer mirrors progress into a UI artifact without
`models/` importing Prefect. Every loop behind a bar (training steps, labelling and encoding batches) is where
a requested stop (models/stop.py) takes effect.
"""
from __future__ import annotations

from typing import Callable, Iterable, Iterator, TypeVar

from tqdm.auto import tqdm

from models.stop import check_stop

ProgressFn = Callable[[int, int], None]
"""Called as `fn(done, total)` while a long step runs."""

T = TypeVar("T")


def track(items: Iterable[T], total: int, desc: str, callback: ProgressFn | None = None,
          every: int = 10) -> Iterator[T]:
    """Yield `items` behind a terminal progress bar, calling `callback` every `every` items and at the end.
    Before each item it checks for a requested stop (StopRequested), so the loop ends within one step."""
    with tqdm(total=total, desc=desc, leave=False, dynamic_ncols=True) as bar:
        for done, item in enumerate(items, start=1):
            check_stop()
            yield item
            bar.update(1)
            if callback is not None and (done % every == 0 or done == total):
                callback(done, total)
