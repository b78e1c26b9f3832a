"""Atomic writes: a reader sees the old artifact or the complete new one, never half of one.

A crash (even SIGKILL) mid-write leaves only a hidden temp file or folder behind.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_path(target: Path, is_dir: bool = False) -> Iterator[Path]:
    """Yield a hidden temp path beside `target`; on success it replaces `target` in one rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{target.name}.tmp-"
    temp = Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent)) if is_dir else \
        Path(tempfile.mkstemp(prefix=prefix, dir=target.parent)[1])
    try:
        yield temp
        if is_dir and target.exists():
            shutil.rmtree(target)
        os.replace(temp, target)
    finally:
        if temp.exists():
            shutil.rmtree(temp) if temp.is_dir() else temp.unlink()


def write_text_atomic(target: Path, text: str) -> Path:
    with atomic_path(target) as temp:
        temp.write_text(text)
    return target
