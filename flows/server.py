"""The Prefect API a command talks to, with a temporary server that cannot outlive the command.

Without PREFECT_API_URL, Prefect starts a temporary API server as a child process; when the command is
killed (SIGKILL, the out-of-memory killer, a supervisor's timeout) that child lives on (~200 MB each).
`scoped_api` starts the same server itself, asking the kernel to send it SIGTERM when its parent dies
(Linux `PR_SET_PDEATHSIG`), and stops it when the command ends. With PREFECT_API_URL set, the
configured server is used as is.

When that temporary server dies during the run (killed, out of memory), it is started again on the same port and
database, and the run goes on: Prefect's client retries a refused connection for about a minute once it has
connected. When it cannot be started again (or dies again and again), the stage in progress stops at its next step,
the client stops retrying, and the run ends with `ApiServerLost`: one line, not minutes of retries and a traceback.
"""
from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from typing import Iterator

import prefect
from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.settings import (
    PREFECT_API_URL,
    PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
    get_current_settings,
    temporary_settings,
)

from models.stop import request_stop
from pipeline.stopping import PartLost

_PR_SET_PDEATHSIG = 1
SERVER_RESTARTS = 1  # a server that dies again in the same run will not stay up: end the run instead


class ApiServerLost(PartLost):
    """The temporary Prefect server stopped during the run and could not be started again."""


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


def _start_server(port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--app-dir", str(prefect.__module_path__.parent), "--factory",
         "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port), "--log-level", "error",
         "--lifespan", "on"], env=env, preexec_fn=_die_with_parent)


class ServerWatch(threading.Thread):
    """Starts the temporary server again when it dies during the run, at most SERVER_RESTARTS times; after that,
    stops the run (see the module's docstring). The thread that starts a server must outlive it (PR_SET_PDEATHSIG
    follows the creating thread), so this thread lives until `close`."""

    def __init__(self, url: str, port: int, server: subprocess.Popen[bytes]) -> None:
        super().__init__(name="prefect-server-watch", daemon=True)
        self.url, self.port, self.server = url, port, server
        self.settings = get_current_settings()  # the run's settings object, shared with its task threads
        self.lost: str | None = None  # why the server is gone for good
        self.closing = threading.Event()

    def run(self) -> None:
        restarts = 0
        while not self.closing.wait(0.5):
            if self.server.poll() is None:
                continue
            code = self.server.returncode
            how = f"it stopped during the run with exit code {code}"
            if restarts == SERVER_RESTARTS:
                return self.give_up(f"{how}, after {restarts} restart(s)")
            restarts += 1
            self.server = _start_server(self.port)
            try:
                _wait_healthy(self.url, self.server, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value())
            except RuntimeError as error:
                return self.give_up(f"{how}, and starting it again failed: {error}")
            print(f"note: the temporary Prefect server at {self.url} stopped with exit code {code}; started it again "
                  "on the same port and database; the run goes on", file=sys.stderr, flush=True)

    def give_up(self, how: str) -> None:
        """Stop the stage in progress as a SIGTERM would, and stop the client retrying a server that is gone."""
        self.lost = f"lost the Prefect API server at {self.url} ({how})"
        self.settings.client.max_retries = 0
        self.settings.logging.to_api.enabled = False
        request_stop(signal.SIGTERM)

    def close(self) -> subprocess.Popen[bytes]:
        """Stop watching; returns the server now running (or last run)."""
        self.closing.set()
        self.join()
        return self.server


def _quiet_lost_api() -> None:
    """The logs and events still queued for a server that is gone fail once more at exit: say nothing of them, so
    the run's last line stays the one that names the loss."""
    logging.raiseExceptions = False  # APILogWorker prints '--- Error logging to API ---' only when this is set
    logging.disable(logging.CRITICAL)  # the events worker's failures, logged at exit: the run has ended
    logging.getLogger("prefect._internal.concurrency").disabled = True  # its SafeLogger ignores logging.disable


@contextlib.contextmanager
def scoped_api() -> Iterator[str | None]:
    """Yield the API URL in use: the configured one, or a temporary server's tied to this process."""
    if PREFECT_API_URL.value() or not sys.platform.startswith("linux"):
        yield PREFECT_API_URL.value()  # a configured server, or Prefect's own temporary one off Linux
        return
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    server = _start_server(port)
    try:
        _wait_healthy(url, server, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value())
        with temporary_settings(updates={PREFECT_API_URL: url}):
            watch = ServerWatch(url, port, server)
            watch.start()
            try:
                yield url
            except BaseException:
                if watch.lost is None:
                    raise
                raise ApiServerLost(watch.lost) from None  # what failed after it: its refused connections
            finally:
                server = watch.close()
                if watch.lost is None:
                    _deliver_pending()
                else:
                    _quiet_lost_api()
            if watch.lost is not None:  # the run ended anyway (its last stage had finished)
                raise ApiServerLost(watch.lost)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
