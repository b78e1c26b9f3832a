"""The store's per-output lock between real processes: a second process waits for the holder and names it, gets
the lock as soon as the holder releases it or is SIGKILLed, and stops waiting when a stop is asked for; folders
replaced by two writers at once."""
from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from artifacts.atomic import atomic_path
from artifacts.lock import lock_file, output_lock
from models.stop import StopRequested
from tests.child_runs import REPO_ROOT, ChildOutput, child_env

# Takes the lock on argv[1], says so, and holds it until a line arrives on stdin (or it is killed).
HOLD_LOCK = """
import sys, time
from pathlib import Path
from artifacts.lock import output_lock
with output_lock(Path(sys.argv[1]), on_wait=lambda holder: print("waiting for", holder, flush=True)):
    print("locked at", time.monotonic(), flush=True)
    sys.stdin.readline()
"""


def hold_lock(target: Path) -> tuple[subprocess.Popen[str], ChildOutput]:
    process = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(target)], cwd=REPO_ROOT, env=child_env(),
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return process, ChildOutput(process)


def locked_at(line: str) -> float:
    return float(line.split()[-1])


@pytest.mark.parametrize("release", ["exit", "SIGKILL"])
def test_a_second_process_waits_for_the_named_holder_and_locks_once_it_is_released_or_killed(
        tmp_path: Path, release: str) -> None:
    target = tmp_path / "store" / "cross" / "0123456789abcdef"
    holder, holder_output = hold_lock(target)
    waiter, waiter_output = None, None
    try:
        holder_output.wait_for(lambda line: line.startswith("locked at"), "the holder's lock", 60)
        assert lock_file(target).read_text() == f"{socket.gethostname()}:{holder.pid}\n"
        waiter, waiter_output = hold_lock(target)
        waiting = waiter_output.wait_for(lambda line: line.startswith(("waiting for", "locked at")), "a wait", 60)
        assert waiting == f"waiting for {socket.gethostname()}:{holder.pid}\n", "it waits, naming the holder"
        time.sleep(1)
        assert waiter.poll() is None and waiter_output.lines.empty(), "it still waits while the lock is held"

        released = time.monotonic()
        if release == "SIGKILL":
            holder.send_signal(signal.SIGKILL)
        else:
            assert holder.stdin is not None
            holder.stdin.write("release\n")
            holder.stdin.flush()
        assert holder.wait(timeout=30) == (-signal.SIGKILL if release == "SIGKILL" else 0)
        line = waiter_output.wait_for(lambda line: line.startswith("locked at"), "the waiter's lock", 30)
        assert locked_at(line) - released < 2, "the waiter takes the lock at once (it tries every 0.2 s)"
        assert lock_file(target).read_text() == f"{socket.gethostname()}:{waiter.pid}\n", "the waiter holds it now"
        assert waiter_output.seen.count(waiting) == 1, "the wait is said once"
        assert waiter.communicate("release\n", timeout=30)[0] == "" and waiter.returncode == 0
    finally:
        for process in (holder, waiter):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=30)
    assert not lock_file(target).exists(), "the last holder removes the lock file as it releases it"


def test_two_writers_replacing_one_folder_at_once_both_succeed_and_leave_one_whole_folder(tmp_path: Path) -> None:
    target, failures = tmp_path / "exports" / "bi", []

    def write_versions(writer: str) -> None:
        for version in range(60):
            try:
                with atomic_path(target, is_dir=True) as temp:
                    for part in ("config.json", "model.safetensors", "tokenizer.json"):
                        (temp / part).write_text(f"{writer} {version}")
            except OSError as error:
                failures.append(error)

    writers = [threading.Thread(target=write_versions, args=(name,)) for name in ("a", "b")]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert failures == []
    contents = {part.read_text() for part in target.iterdir()}
    assert len(contents) == 1 and len(list(target.iterdir())) == 3, "every file comes from one writer's folder"
    assert [path.name for path in target.parent.iterdir()] == ["bi"], "no temp or moved-aside folder is left"


def test_a_stop_asked_for_while_waiting_ends_the_wait_and_leaves_the_holders_lock(tmp_path: Path) -> None:
    target = tmp_path / "store" / "bi" / "0123456789abcdef"
    holder, holder_output = hold_lock(target)
    try:
        holder_output.wait_for(lambda line: line.startswith("locked at"), "the holder's lock", 60)
        tries: list[int] = []

        def stop_on_second_try() -> None:
            tries.append(1)
            if len(tries) == 2:
                raise StopRequested("stop asked by signal 2")

        with pytest.raises(StopRequested), output_lock(target, between_tries=stop_on_second_try):
            pytest.fail("the lock is held by the other process")
        assert lock_file(target).read_text() == f"{socket.gethostname()}:{holder.pid}\n", "the holder keeps it"
    finally:
        holder.kill()
        holder.wait(timeout=30)
