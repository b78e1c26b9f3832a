"""How a run ends when it is asked to stop (Ctrl-C, SIGTERM from a scheduler or `kill`).

The first signal asks the stage in progress to stop at its next step (models/stop.py); its atomic writes
remove what it had half-written, so the store keeps only finished stages. The command then ends with one line
naming the stages that finished and the command that resumes, and the shell's code for that signal
(128 + its number: 130 for SIGINT, 143 for SIGTERM). A second signal stops at once (KeyboardInterrupt in the
main thread), still through the same cleanup.
"""
from __future__ import annotations

import contextlib
import json
import signal
import sys
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType
from typing import Iterator

from models.stop import request_stop, requested_signal

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class PartLost(Exception):
    """A part the run depends on is gone for good (the Prefect API server, a Ray node): the run ends with one line
    naming it, the finished stages and the resume command, and exit code 1."""


def finished_stages(manifest_path: Path, since: datetime) -> list[str]:
    """The stage calls this run recorded as done (ran or cached), from the manifest it rewrites after each stage;
    a manifest older than this run is an earlier run's, so none of its stages count."""
    if not manifest_path.is_file():
        return []
    manifest = json.loads(manifest_path.read_text())
    if datetime.fromisoformat(manifest["started"]) < since.replace(microsecond=0):
        return []
    return [entry["title"] or entry["stage"] for entry in manifest["entries"]]


def stop_line(cause: str, finished: list[str], resume: str) -> str:
    done = f"{len(finished)} stage(s) finished and are stored ({'; '.join(finished)})" if finished else \
        "no stage finished"
    return f"{cause}: {done}; resume with: {resume}"


@contextlib.contextmanager
def stop_on_signals(manifest_path: Path, resume: str) -> Iterator[None]:
    """SIGINT and SIGTERM stop the run at the next step instead of killing it mid-write; whatever then ends the
    run (StopRequested from a loop, Prefect's TerminationSignal, a second Ctrl-C) ends the command with the stop
    line and code 128 + signal."""
    since = datetime.now(timezone.utc)
    delivered: list[int] = []

    def on_signal(signal_number: int, _frame: FrameType | None) -> None:
        delivered.append(signal_number)
        if len(delivered) > 1:
            raise KeyboardInterrupt  # the second signal: stop now, in whatever the main thread is doing
        if requested_signal() is None:  # else Prefect's SIGTERM handler saw it first and passed it on
            print(f"\n{signal.Signals(signal_number).name}: stopping at the next step (again to stop at once)",
                  file=sys.stderr, flush=True)
        request_stop(signal_number)

    previous = {number: signal.signal(number, on_signal) for number in STOP_SIGNALS}
    try:
        yield
    except PartLost as lost:
        print(stop_line(str(lost), finished_stages(manifest_path, since), resume), file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    except BaseException:
        stopped_by = requested_signal()
        if stopped_by is None:
            raise
        print(stop_line(f"stopped by {signal.Signals(stopped_by).name}", finished_stages(manifest_path, since),
                        resume), file=sys.stderr, flush=True)
        raise SystemExit(128 + stopped_by) from None
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
