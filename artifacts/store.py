"""The content-addressed store under a run's output root.

Every stage output lives at `<root>/store/<stage>/<key>[.suffix]`, where the key is a
digest of the stage's code version, its inputs' content digests and its settings. A run
with other settings can therefore never pick up another run's files, and two runs that
share a stage's inputs share its output. Each artifact has a `.sha256` sidecar written
after it; an artifact whose content no longer matches its sidecar is not valid and is
recomputed.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from artifacts.atomic import write_text_atomic
from artifacts.hashing import path_digest, value_digest

KEY_LENGTH = 16


class StoreUnreachable(OSError):
    """A process that must read and write the store (a Ray worker) cannot see it."""


@dataclass(frozen=True)
class Artifact:
    """A stored stage output: where it is and the digest of its content."""

    path: str
    sha256: str

    @property
    def short(self) -> str:
        return self.sha256[:KEY_LENGTH]


def stage_key(stage: str, code_version: str, inputs: dict[str, str], settings: dict[str, Any]) -> str:
    """The content address of a stage's output."""
    return value_digest({"stage": stage, "code": code_version, "inputs": inputs, "settings": settings})[:KEY_LENGTH]


class Store:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, stage: str, key: str, suffix: str = "") -> Path:
        return self.root / "store" / stage / f"{key}{suffix}"

    @staticmethod
    def sidecar(path: Path) -> Path:
        return path.with_name(path.name + ".sha256")

    @staticmethod
    def seal(path: Path) -> Artifact:
        """Record the digest of a finished artifact (written last, so its presence means 'complete')."""
        digest = path_digest(path)
        write_text_atomic(Store.sidecar(path), digest + "\n")
        return Artifact(str(path), digest)

    @staticmethod
    def verified(path: Path) -> Artifact | None:
        """The artifact if it exists and its content still matches its recorded digest, else None."""
        sidecar = Store.sidecar(path)
        if not path.exists() or not sidecar.is_file():
            return None
        recorded = sidecar.read_text().strip()
        return Artifact(str(path), recorded) if path_digest(path) == recorded else None
