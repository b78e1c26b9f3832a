"""Shared fixtures: the real STS folder and a tiny random BERT built offline."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import settings

REPO_ROOT = Path(__file__).resolve().parents[1]

# CI sets CI=true: there a property test draws the same examples every run, so a red build is reproducible and a
# green one is not luck; locally each run keeps exploring new examples.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


# `make test` runs two pytest-xdist workers (--dist loadgroup). The tests that start Prefect servers or Ray clusters,
# or assert a wall-clock bound, run in this one group, one at a time; the rest share the two workers.
ONE_AT_A_TIME = ("server", "ray", "one_at_a_time")


def pytest_configure(config: pytest.Config) -> None:
    """A worker computes on its share of the cores (two workers on two cores would each run two torch threads) and
    keeps its Prefect database in a home of its own (temporary servers of both workers would share one SQLite file)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))
        os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix=f"prefect-home-{worker}-")


def pytest_unconfigure(config: pytest.Config) -> None:
    """A worker's Prefect home goes with it."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shutil.rmtree(os.environ["PREFECT_HOME"], ignore_errors=True)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that asks for the Prefect server is a server test: derived here, so no such test escapes the mark; the
    marks in ONE_AT_A_TIME put a test in that group. A `cuda` test is skipped where torch sees no GPU (CI has none)."""
    for item in items:
        if "prefect_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.server)
        if any(item.get_closest_marker(mark) for mark in ONE_AT_A_TIME):
            item.add_marker(pytest.mark.xdist_group("one-at-a-time"))
    cuda = [item for item in items if item.get_closest_marker("cuda")]
    if cuda:
        import torch

        if not torch.cuda.is_available():
            for item in cuda:
                item.add_marker(pytest.mark.skip(reason="needs a CUDA GPU"))


@pytest.fixture(scope="session", autouse=True)
def embedding_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The machine-level embedding cache in a session folder (child processes inherit it), never the home's."""
    folder = tmp_path_factory.mktemp("embedding-cache")
    previous = os.environ.get("TE_EMBEDDING_CACHE")
    os.environ["TE_EMBEDDING_CACHE"] = str(folder)
    yield folder
    os.environ.pop("TE_EMBEDDING_CACHE") if previous is None else os.environ.__setitem__("TE_EMBEDDING_CACHE", previous)


@pytest.fixture(scope="session")
def sts_dir() -> Path:
    """The STS benchmark folder: $STS_DATA_DIR, else ../shared/data/sts beside the repo."""
    path = Path(os.environ.get("STS_DATA_DIR", REPO_ROOT.parent / "shared" / "data" / "sts"))
    if not (path / "stsb" / "sts-dev.csv").is_file():
        pytest.fail(f"STS data not found at {path}: set STS_DATA_DIR to the folder of ../shared/data/sts")
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A raw (non sentence-transformers) tiny BERT folder, built once per test session."""
    from tests.tiny_model import build_tiny_bert

    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three tiny random BERTs of different widths (and weights), for mutual runs and frozen labellers."""
    from tests.tiny_model import build_tiny_bert

    root = tmp_path_factory.mktemp("tiny-berts")
    return {f"bert{width}": build_tiny_bert(root / f"bert{width}", seed=width, hidden_size=width)
            for width in (32, 48, 40)}


@pytest.fixture(scope="session")
def mini_sts_dir(sts_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real STS files cut to their first lines (inputs and golds stay aligned), for fast flow tests."""
    folder = tmp_path_factory.mktemp("mini-sts")
    for source in sts_dir.glob("*/*"):
        if source.parent.name == "senteval_tok" or source.suffix not in {".txt", ".csv"}:
            continue
        target = folder / source.relative_to(sts_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(source, "rb") as handle:
            target.write_bytes(b"".join(handle.readlines()[:MINI_LINES]))
    return folder


MINI_LINES = 120


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `prefect server start` on loopback for the whole session; its API URL is exported."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    home = tmp_path_factory.mktemp("prefect-home")
    url = f"http://127.0.0.1:{_free_port()}/api"
    env = {**os.environ, "PREFECT_HOME": str(home), "DO_NOT_TRACK": "1",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_API_URL": url}
    log = open(home / "server.log", "wb")
    server = subprocess.Popen([str(Path(sys.executable).parent / "prefect"), "server", "start", "--host",
                               "127.0.0.1", "--port", url.split(":")[2].split("/")[0]],
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as reply:
                if reply.status == 200:
                    break
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            pytest.fail(f"prefect server did not start; see {home / 'server.log'}")
        time.sleep(0.5)
    previous = {k: os.environ.get(k) for k in ("PREFECT_API_URL", "PREFECT_HOME")}
    os.environ.update(PREFECT_API_URL=url, PREFECT_HOME=str(home))
    try:
        with temporary_settings(updates={PREFECT_API_URL: url}):
            yield url
    finally:
        for key, value in previous.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
        server.terminate()
        server.wait(timeout=30)
        log.close()
