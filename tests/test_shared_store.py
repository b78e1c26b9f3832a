"""Two real plain runs started together on one `--out`: each shared stage is computed once and the store equals a
single run's; and when the run holding a stage's lock is SIGKILLed mid-stage, the other takes the lock at once,
computes the stage and finishes, with nothing torn in the store."""
from __future__ import annotations

import queue
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from artifacts.store import Store
from tests.child_runs import REPO_ROOT, ChildOutput, child_env, mid_way

pytestmark = [pytest.mark.slow, pytest.mark.one_at_a_time]  # two or three whole runs at once; a lock taken at once

STAGE_LINE = re.compile(r"\s(ran|cached)\s+(\d+\.\d) s  (\S+)$")  # the executor's line per finished stage call


def plain_command(model: Path, data: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "flows.plain", "--model", str(model), "--labellers", "", "--no-onnx-export",
            "--pool", "stsb",
            "--data-dir", str(data), "--max-pairs", "48", "--bi-batch-size", "16", "--cross-batch-size", "16",
            "--warmup", "mirror", "--warmup-batch-size", "16", "--cycles", "1", "--eval", "none", "--device", "cpu",
            "--out", str(out), *extra]


def start(command: list[str]) -> tuple[subprocess.Popen[str], ChildOutput]:
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=child_env(PYTHONUNBUFFERED="1"), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    return process, ChildOutput(process)


def finish(process: subprocess.Popen[str], output: ChildOutput) -> list[str]:
    """The run's whole output, once it exited 0."""
    lines = output.rest(300)
    assert process.wait(timeout=60) == 0, "".join(lines[-30:])
    return lines


def stage_statuses(lines: list[str]) -> dict[str, str]:
    """Output file name (its key) -> 'ran' or 'cached', from a run's stage lines."""
    return {found[3]: found[1] for line in lines if (found := STAGE_LINE.search(line.rstrip("\n")))}


def sidecars(out: Path) -> dict[str, str]:
    """Every sealed output of the store, by its path under the store, with its recorded digest."""
    store = out / "store"
    return {str(path.relative_to(store)): path.read_text() for path in store.rglob("*.sha256")}


def test_two_runs_started_together_on_one_out_compute_each_stage_once_and_store_what_one_run_alone_does(
        tiny_model_dir: Path, mini_sts_dir: Path, tmp_path: Path) -> None:
    together, alone = tmp_path / "together", tmp_path / "alone"
    runs = [start(plain_command(tiny_model_dir, mini_sts_dir, out, "--max-steps", "3"))
            for out in (together, together, alone)]
    first, second, single = (stage_statuses(finish(*run)) for run in runs)

    assert first.keys() == second.keys() == single.keys() and len(first) >= 6, (first, second)
    ran_twice = [name for name in first if first[name] == second[name] == "ran"]
    assert ran_twice == [], "a stage the other run computed is taken from the store, never computed again"
    assert all(first[name] == "ran" or second[name] == "ran" for name in first), "and none is skipped"
    assert sidecars(together) == sidecars(alone), "the shared store holds the same outputs as one run alone"
    assert all(Store.verified(together / "store" / name.removesuffix(".sha256")) for name in sidecars(together))
    assert not list(together.rglob("*.lock")), "every lock file was removed by its last holder"


def next_line(outputs: list[ChildOutput], matches: re.Pattern[str], what: str, seconds: float = 300) -> re.Match[str]:
    """The first line of any of the runs' outputs that `matches`, read as the lines come."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for output in outputs:
            try:
                line = output.lines.get(timeout=0.05)
            except queue.Empty:
                continue
            if line is None:
                pytest.fail(f"a run ended before {what}:\n" + "".join(output.seen[-30:]))
            output.seen.append(line)
            if found := matches.search(line):
                return found
    pytest.fail(f"no {what} within {seconds:.0f} s")


def test_when_the_run_holding_a_stages_lock_is_sigkilled_the_waiting_run_computes_it_at_once(
        tiny_model_dir: Path, mini_sts_dir: Path, tmp_path: Path) -> None:
    command = plain_command(tiny_model_dir, mini_sts_dir, tmp_path, "--cross-epochs", "40")  # 120 steps: seconds
    runs = [start(command), start(command)]
    waiting = next_line([output for _, output in runs],
                        re.compile(r"cycle 1: cross \[.+\]: waiting for ([^:]+):(\d+), which is computing"),
                        "a run waiting for the other's cross stage")
    assert waiting[1] == socket.gethostname() and int(waiting[2]) in {process.pid for process, _ in runs}
    (holder, holder_output), (survivor, survivor_output) = sorted(runs, key=lambda run: run[0].pid != int(waiting[2]))
    holder_output.wait_for(mid_way("fit cross-encoder"), "the holder's cross-encoder training mid-way")
    holder.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    assert holder.wait(timeout=30) == -signal.SIGKILL

    cross_line = survivor_output.wait_for(lambda line: "cycle 1: cross [" in line and STAGE_LINE.search(line.rstrip()),
                                          "the survivor's cross stage")
    found = STAGE_LINE.search(cross_line.rstrip())
    assert found is not None and found[1] == "ran", cross_line
    assert time.monotonic() - killed - float(found[2]) < 5, "it took the killed holder's lock at once"
    finish(survivor, survivor_output)
    sealed = sidecars(tmp_path)
    assert any(name.startswith("cross/") for name in sealed)
    assert all(Store.verified(tmp_path / "store" / name.removesuffix(".sha256")) for name in sealed), "none is torn"
    unsealed = [path for path in (tmp_path / "store").glob("*/*") if not path.name.startswith(".")
                and not path.name.endswith((".sha256", ".key.json")) and f"{path.relative_to(tmp_path / 'store')}"
                f".sha256" not in sealed]
    assert unsealed == [], "every output in the store is sealed: the killed holder's half is only a hidden temp"
    assert not list(tmp_path.rglob("*.lock")), "the survivor removed the killed holder's lock file as it released it"
