"""Checks that run before any model loads or any Prefect run starts, and how a failed run ends.

A bad file or flag ends the command with one line naming it and exit code 2, not a traceback after minutes.
"""
from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import socket
import sys
import traceback
from pathlib import Path
from typing import Iterator

from huggingface_hub import try_to_load_from_cache

from artifacts.store import StoreUnreachable
from models.config import INT8_ON_GPU, PipelineConfig
from models.data import (
    BUILT_IN_POOLS,
    HUB_MIRROR_ENV,
    DataError,
    benchmark_dir,
    evaluation_sets,
    hub_mirror,
    load_run_pool,
    pool_origin_note,
    tidy_note,
)
from models.data.corpus import corpus_note, load_run_corpus
from models.data.retrieval_task import load_task
from models.encoders.installed import SHORT_NAMES, NotInstalledError
from models.encoders.lengths import pool_truncations
from models.encoders.onnx_graph import ONNX_MISSING, onnx_available
from models.encoders.sources import ModelSourceError, resolve_model_source
from models.runtime import Runtime, pick_device
from models.training.trainer import TrainingDiverged
from pipeline.plan import member_names


@contextlib.contextmanager
def input_errors(debug: bool = False) -> Iterator[None]:
    """Bad input (a file, a column, a model name) ends any command with one line naming it and exit code 2, not a
    traceback (`debug`: the traceback as well)."""
    try:
        yield
    except (DataError, ModelSourceError, NotInstalledError) as error:
        if debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def preflight(config: PipelineConfig, out: Path, debug: bool = False) -> None:
    """Read (and so check) the pool and the benchmark files before any model loads or any Prefect run starts."""
    with input_errors(debug):
        check_out(out)
        check_label_int8(config)
        check_hub_models(config)
        check_hub_data(config)
        if (config.backend == "onnx" or config.label_int8) and not onnx_available():
            raise DataError(ONNX_MISSING)
        for note in input_notes(config):
            print(f"note: {note}", file=sys.stderr)
        evaluation_sets(config)
        if config.dev_retrieval:
            check_dev_retrieval(config)


def check_dev_retrieval(config: PipelineConfig) -> None:
    """The search task is read now; it chooses among scored cycles, so a run that scores nothing cannot use it."""
    load_task(config.dev_retrieval, config.text_a, config.text_b, config.label_column, config.encoding)
    if not config.evaluates:
        raise DataError(f"--dev-retrieval {config.dev_retrieval} chooses among scored cycles, and this run scores "
                        "none (--eval none, or no STS folder and no --dev-pairs); pass --data-dir DIR or --dev-pairs "
                        "FILE, or drop --eval none")


def check_label_int8(config: PipelineConfig) -> None:
    """`--device auto` takes the GPU where there is one, where int8 labelling cannot run (an explicit cuda device is
    refused by the settings themselves)."""
    if config.label_int8 and pick_device(config.device).type == "cuda":
        raise DataError(INT8_ON_GPU.format(device=f"--device {config.device} (a GPU is visible)"))


def check_runtime(device: str, precision: str) -> None:
    """A scoring command's --device and --precision, resolved before any model loads (bf16 on a CPU: one line)."""
    try:
        Runtime.create(device, precision)  # type: ignore[arg-type]
    except ValueError as error:
        raise DataError(str(error)) from None


def check_hub_models(config: PipelineConfig) -> None:
    for model in (*config.members, *config.frozen_labellers):
        check_model_reachable(model)


def check_model_reachable(model: str) -> None:
    """A model that is neither a folder nor installed comes from the hub: offline, it must already be cached."""
    source = resolve_model_source(model)
    if Path(source).is_dir() or isinstance(try_to_load_from_cache(source, "config.json"), str):
        return
    if hub_out_of_reach():
        raise DataError(f"model {model!r} is not a local folder or an installed name ({', '.join(SHORT_NAMES)}), "
                        "and the Hugging Face hub cannot be reached to fetch it; pass a model folder or an "
                        "installed name")


def check_hub_data(config: PipelineConfig) -> None:
    """With no STS folder and no hub mirror, a built-in pool and the benchmarks come from the hub: offline, one line
    says what to pass instead, before anything is fetched or retried."""
    needs = [f"pool {config.pool!r}"] * (config.pool in BUILT_IN_POOLS) + ["the STS benchmarks"] * config.scores_sts
    own_pairs = ("--pool custom --pool-path FILE --dev-pairs FILE (your own pairs)" if config.pool in BUILT_IN_POOLS
                 else "--eval dev --dev-pairs FILE, or --eval none")
    check_sts_at_hand(config.data_dir, needs, own_pairs)


def check_sts_at_hand(data_dir: str | None, needs: list[str], instead: str) -> None:
    """What `needs` names is read from the STS folder, a hub mirror or the hub: when none is at hand, one line says
    what to pass (or `instead`)."""
    if not needs or benchmark_dir(data_dir) is not None or hub_mirror() is not None or not hub_out_of_reach():
        return
    raise DataError(f"{' and '.join(needs)} come from an STS data folder or the Hugging Face hub, and the hub cannot "
                    f"be reached; pass --data-dir DIR (or set STS_DATA_DIR; or {HUB_MIRROR_ENV}=DIR, a local copy of "
                    f"the mteb datasets), or {instead}")


def hub_out_of_reach() -> bool:
    """HF_HUB_OFFLINE is set, or one quick connection attempt fails."""
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"} or not hub_reachable()


def check_out(out: Path) -> None:
    """The output root must be a folder this user can write (created when missing)."""
    existing = next(folder for folder in (out, *out.parents) if folder.exists())
    if not existing.is_dir():
        raise DataError(f"--out {out}: {existing} is a file, not a folder; give a folder for the runs (created when "
                        "missing)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise DataError(f"--out {out}: cannot write in {existing}; give a folder you can write to")


@contextlib.contextmanager
def resume_hint(run_dir: Path, debug: bool = False) -> Iterator[None]:
    """A failure ends with where the finished work is and how to resume. A failure the user can act on (the loss
    diverged, the disk is full) is one line saying what to change; anything else keeps its traceback."""
    try:
        yield
    except Exception as error:
        known = None if debug else actionable(error)
        if known is None:
            traceback.print_exc()
        print(f"error: {known}" if known else "\nThe run stopped at an unexpected error (traceback above).",
              file=sys.stderr)
        print(f"Finished stages are kept under {run_dir.parent / 'store'}; rerun the command (with the change named "
              f"above, if any) to resume from the stage that failed (run folder {run_dir}).", file=sys.stderr)
        raise SystemExit(1) from None


def actionable(error: BaseException) -> str | None:
    """The one-line message of a failure the user can fix without reading a traceback, else None."""
    if isinstance(error, TrainingDiverged):
        return f"{error}; nothing of that stage was stored"
    if isinstance(error, (StoreUnreachable, DataError)):  # a mined pool too small to train on is known only then
        return str(error)
    if os_error_number(error) in (errno.ENOSPC, errno.EDQUOT):
        where = f" writing {error.filename}" if getattr(error, "filename", None) else ""
        reason = error.strerror if isinstance(error, OSError) else os.strerror(os_error_number(error) or 0)
        return (f"no space left on the disk{where} ({reason}); the unfinished file or model folder was removed. "
                "Free some space on that disk")
    return None


RUST_IO_ERROR = re.compile(r"\(os error (\d+)\)")


def os_error_number(error: BaseException) -> int | None:
    """The operating system's error number behind a failure: an OSError's, or the one a Rust writer (safetensors
    saving a model, tokenizers) quotes in its message as '(os error 28)', since it raises no OSError."""
    if isinstance(error, OSError):
        return error.errno
    found = RUST_IO_ERROR.search(str(error))
    return int(found[1]) if found else None


@functools.lru_cache(maxsize=4)
def input_notes(config: PipelineConfig) -> tuple[str, ...]:
    """What will happen to the user's rows, said before any work and kept in the manifest: rows dropped, repeats
    removed, and per member how many inputs each training stage will cut at its max length."""
    if config.pool == "corpus":  # the pairs are mined later: the texts are what the user gave
        texts, corpus_tidy = load_run_corpus(config)
        notes, first, second = [corpus_note(config.corpus_path or "", corpus_tidy)], texts, texts
    else:
        pool = load_run_pool(config)
        tidy = tidy_note(pool.attrs.get("tidy", {}))
        notes = [note for note in (pool_origin_note(pool, config.pool), tidy and f"{config.pool_path}: {tidy}")
                 if note]
        first, second = pool["text_a"].tolist(), pool["text_b"].tolist()
    for name, model in member_names(config.members).items():
        source = Path(resolve_model_source(model))
        if not source.is_dir():  # a hub id: its tokenizer arrives with the model, when the run loads it
            continue
        # mined pairs are not known yet: a corpus's notes count its sentences only
        cut = [t.describe() for t in pool_truncations(source, first, second, config)
               if t.cut and (config.pool != "corpus" or t.unit != "pairs")]
        if cut:
            notes.append(f"{name}: " + "; ".join(cut))
    if config.onnx_export and not onnx_available():
        notes.append("the onnx extra is not installed, so the exports carry no ONNX graphs: "
                     "pip install -c requirements.lock -e '.[onnx]'")
    return tuple(notes)


@functools.cache
def hub_reachable(timeout: float = 3.0) -> bool:
    """One quick connection attempt, so an offline machine is told at once instead of after minutes of retries."""
    try:
        socket.create_connection(("huggingface.co", 443), timeout=timeout).close()
        return True
    except OSError:
        return False
