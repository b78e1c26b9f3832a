"""A stop asked for from outside the loops (SIGINT, SIGTERM): the signal handler only sets a flag, and every
training, labelling and encoding loop checks it at each step, so a stage ends within one step and unwinds
through its atomic writes (nothing half-written is left in the store). No Prefect or signal import here: the
loops run the same in a Prefect task thread, a plain process or a Ray worker."""
from __future__ import annotations

import threading


class StopRequested(KeyboardInterrupt):
    """Raised at a loop's next step once a stop was asked for. A KeyboardInterrupt, not an Exception: no retry,
    `except Exception` or failure report takes it for a stage's own error, and Prefect records an interrupt."""


_asked = threading.Event()
_signal_number: int | None = None


def request_stop(signal_number: int) -> None:
    """Ask every running loop of this process to stop at its next step; the first signal is the one kept."""
    global _signal_number
    if not _asked.is_set():
        _signal_number = signal_number
        _asked.set()


def requested_signal() -> int | None:
    """The signal that asked for the stop, or None while none did."""
    return _signal_number if _asked.is_set() else None


def check_stop() -> None:
    """Raise StopRequested when a stop was asked for: called between steps, where stopping loses only this step."""
    if _asked.is_set():
        raise StopRequested(f"stop asked by signal {_signal_number}")
