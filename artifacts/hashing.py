"""Content digests of files, folders and settings: the basis of every cache key and file name."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

_CHUNK = 1 << 20


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def folder_digest(path: Path) -> str:
    """Digest of every file's relative name and content, in sorted order (hidden temp files excluded)."""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0" + file_digest(file).encode())
    return digest.hexdigest()


def path_digest(path: Path) -> str:
    return folder_digest(path) if path.is_dir() else file_digest(path)


def value_digest(value: Any) -> str:
    """Digest of JSON-able settings; key order does not matter."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()
