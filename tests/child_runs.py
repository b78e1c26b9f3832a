"""Real runs in child processes: their output read with deadlines, and a run stopped by a signal mid-stage.

Shared by the flow tests, the stop tests and `benchmarks/stop_times.py` (which measures what the tests bound).
"""
from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# Per stage kind: the stage a stop test interrupts and the progress bar that shows it is mid-way.
STOPPED_STAGES = {"training": ("cross", "fit cross-encoder"), "labelling": ("cross-labels", "cross-encoder scoring")}


class ChildOutput:
    """A child's merged output, read on a thread, so a test waits for a line with a deadline, never forever."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, args=(process.stdout,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:  # text mode: tqdm's carriage returns end lines too
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, matches: Callable[[str], bool], what: str, seconds: float = 300) -> str:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line)
            if matches(line):
                return line
        pytest.fail(f"no {what} within {seconds:.0f} s; the output ended with:\n" + "".join(self.seen[-30:]))

    def rest(self, seconds: float = 60) -> list[str]:
        """Every line still to come, until the child closes its output."""
        deadline = time.monotonic() + seconds
        while (line := self.lines.get(timeout=max(0.0, deadline - time.monotonic()))) is not None:
            self.seen.append(line)
        return self.seen


def running(pid: str) -> bool:
    """A live process (a zombie waiting to be reaped is not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


STOP_POOL_PAIRS = 600  # labelled one pair per step: a labelling stage lasts long enough to be stopped mid-way


def stop_test_command(module: str, model: Path, pool: Path, out: Path) -> list[str]:
    """A one-cycle run on a user's pool (STOP_POOL_PAIRS) whose training and labelling stages each last seconds with
    a tiny model: 200 training steps, and labelling one pair per step; no warm-up, so it gets there quickly."""
    return [sys.executable, "-m", module, "--out", str(out), "--model", str(model), "--labellers", "",
            "--no-onnx-export", "--pool", "custom", "--pool-path", str(pool), "--text-a", "question",
            "--text-b", "answer",
            "--eval", "none", "--warmup", "none", "--bi-batch-size", "16",
            "--cross-batch-size", "16", "--eval-batch-size", "1", "--max-steps", "200",
            "--cycles", "1", "--device", "cpu"]


def child_env(**changes: str) -> dict[str, str]:
    """This process's environment for a child run, with one compute thread: torch's spinning thread pool slows
    twenty-fold when other processes share the cores, and these runs only need steps to happen."""
    return {**os.environ, "OMP_NUM_THREADS": "1", **changes}


def mid_way(bar: str) -> Callable[[str], bool]:
    """A line of the progress bar `bar` past its first step and short of its last."""
    pattern = re.compile(re.escape(bar) + r":.*?(\d+)/(\d+)")

    def matches(line: str) -> bool:
        found = pattern.search(line)
        return found is not None and 0 < int(found[1]) < int(found[2])
    return matches


@dataclass
class StoppedRun:
    returncode: int
    seconds: float  # from the signal to the command's exit
    output: list[str]
    servers: list[str]  # the temporary Prefect servers it had started (pids)

    @property
    def last_line(self) -> str:
        return next(line.strip() for line in reversed(self.output) if line.strip())


def stop_mid_stage(command: list[str], env: dict[str, str], stage_kind: str, signal_number: int,
                   repeat: int = 1) -> StoppedRun:
    """Start `command`, wait until the stage of `stage_kind` is mid-way, send the signal (`repeat` times) and time
    the exit. SIGINT goes to the whole process group, as a terminal's Ctrl-C does; SIGTERM to the command alone, as
    a scheduler or `kill` sends it."""
    stage, bar = STOPPED_STAGES[stage_kind]
    process = subprocess.Popen(command, cwd=REPO_ROOT, env={**env, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    output = ChildOutput(process)
    try:
        output.wait_for(lambda line: f"starting cycle 1: {stage} " in line, f"start of the {stage} stage")
        output.wait_for(mid_way(bar), f"{bar} mid-way")
        children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
        servers = [pid for pid in children if "uvicorn" in Path(f"/proc/{pid}/cmdline").read_text()]
        sent = time.monotonic()
        for _ in range(repeat):
            os.killpg(process.pid, signal_number) if signal_number == signal.SIGINT else \
                process.send_signal(signal_number)
        returncode = process.wait(timeout=120)
        seconds = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
    return StoppedRun(returncode, seconds, output.rest(), servers)
