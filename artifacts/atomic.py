"""Atomic writes: a reader sees the old artifact or the complete new one, never half of one.

A crash (even SIGKILL) mid-write leaves only a hidden temp file or folder behind. A folder replaces an existing one
by renames only (the old one is moved aside, the new one in), so two processes replacing the same folder at once
both succeed, and one of the two complete folders is left.
"""
from __future__ import annotations

import contextlib
import errno
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
        _move_folder_in(temp, target) if is_dir else os.replace(temp, target)
    finally:
        if temp.exists():
            shutil.rmtree(temp) if temp.is_dir() else temp.unlink()


def _move_folder_in(folder: Path, target: Path) -> None:
    """Rename `folder` to `target`; a folder already there is first renamed aside, then deleted. rename(2) cannot
    replace a folder that has files, and deleting it in place would pull it from under a concurrent writer's
    rename or a reader: another process may put its own folder there in between, so this tries again."""
    while True:
        try:
            os.rename(folder, target)
            return
        except OSError as error:
            if error.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
        aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        try:
            os.replace(target, aside)  # an empty folder is replaced by a rename
        except FileNotFoundError:  # another process moved it aside first
            aside.rmdir()
            continue
        shutil.rmtree(aside)


def write_text_atomic(target: Path, text: str) -> Path:
    with atomic_path(target) as temp:
        temp.write_text(text)
    return target
