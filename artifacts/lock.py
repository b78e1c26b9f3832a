"""One writer per store output: two runs on one `--out` compute a shared stage once, the second takes it as cached.

The lock is `flock` on `<target>.lock` beside the output. The kernel releases it when its holder dies, SIGKILL
included, so a killed run never blocks the next one; on NFS, Linux turns `flock` into a POSIX record lock that the
server keeps, released the same way (and by the lease's end when the holder's machine dies). The holder writes
its host:pid into the file, so a run that waits can say for whom. The file is removed by its holder before the
release; a waiter that then gets the lock on the removed file tries again on the new one, so two holders never
hold two files of one path.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
from pathlib import Path
from typing import Callable, Iterator

POLL_SECONDS = 0.2  # how often a waiter tries again: polling, not a blocking wait, so a stop asked for ends it


def lock_file(target: Path) -> Path:
    return target.with_name(target.name + ".lock")


def holder_of(target: Path) -> str:
    """The host:pid written by whoever holds `target`'s lock ('' while it has not written it yet)."""
    try:
        return lock_file(target).read_text().strip()
    except FileNotFoundError:
        return ""


def _open_locked(path: Path) -> int | None:
    """A descriptor holding the lock on the file now at `path`, or None when another process holds it."""
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            return None
        try:
            current = os.stat(path)
        except FileNotFoundError:
            current = None
        opened = os.fstat(descriptor)
        if current is not None and (current.st_dev, current.st_ino) == (opened.st_dev, opened.st_ino):
            return descriptor
        os.close(descriptor)  # the holder before removed this file as it released it: lock the path's new file


@contextlib.contextmanager
def output_lock(target: Path, on_wait: Callable[[str], None] = lambda holder: None,
                between_tries: Callable[[], None] = lambda: None) -> Iterator[None]:
    """Hold the lock on `target` for the block. When another process holds it, call `on_wait` once with its
    host:pid, then `between_tries` before each try (it may raise to give up waiting, as a stop asked for does)."""
    path = lock_file(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    told = False
    while (descriptor := _open_locked(path)) is None:
        if not told:
            on_wait(holder_of(target) or "another process")
            told = True
        between_tries()
        time.sleep(POLL_SECONDS)
    try:
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{socket.gethostname()}:{os.getpid()}\n".encode())
        yield
    finally:
        path.unlink(missing_ok=True)  # while still held: a waiter that locks this removed file will see it is gone
        os.close(descriptor)
