"""The Prefect API a command talks to, with a temporary server that cannot outlive the command.

Without PREFECT_API_URL, Prefect starts a temporary API server as a child process; when the command is
killed (SIGKILL, the out-of-memory killer, a supervisor's timeout) that child lives on (~200 MB each).
`scoped_api` starts the same server itself, asking the kernel to send it SIGTERM when its parent dies
(Linux `PR_SET_PDEATHSIG`), and stops it when the command ends. With PREFECT_API_URL set, the
configured server is used as is.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from typing import Iterator

import prefect
from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, temporary_settings

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in the child between fork and exec: SIGTERM when the parent dies, however it dies; and a process group
    of its own, so a Ctrl-C at the terminal reaches only the command, which records the stopped run on this
    server before it stops it."""
    os.setpgrp()
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_healthy(url: str, server: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the temporary Prefect server exited with code {server.returncode}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"{url}/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        time.sleep(0.2)
    raise RuntimeError(f"the temporary Prefect server did not answer at {url} within {timeout:.0f} s")


def _deliver_pending() -> None:
    """Send the queued logs and events while the server still answers: left queued, they are retried against a
    stopped server at interpreter exit (~70 s of 'All connection attempts failed' after a cached run)."""
    for worker in (APILogWorker, EventsWorker):
        worker.drain_all(timeout=10)


@contextlib.contextmanager
def scoped_api() -> Iterator[str | None]:
    """Yield the API URL in use: the configured one, or a temporary server's tied to this process."""
    if PREFECT_API_URL.value() or not sys.platform.startswith("linux"):
        yield PREFECT_API_URL.value()  # a configured server, or Prefect's own temporary one off Linux
        return
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--app-dir", str(prefect.__module_path__.parent), "--factory",
         "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port), "--log-level", "error",
         "--lifespan", "on"], env=env, preexec_fn=_die_with_parent)
    try:
        _wait_healthy(url, server, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value())
        with temporary_settings(updates={PREFECT_API_URL: url}):
            try:
                yield url
            finally:
                _deliver_pending()
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
