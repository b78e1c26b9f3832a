"""The content-addressed store under a run's output root.

Every stage output lives at `<root>/store/<stage>/<key>[.suffix]`, where the key is a
digest of the stage's code identity, its inputs' identities (a stored input's key, a start
model's content digest) and its settings, so every key of a run is known before anything
runs. A run with other settings or code can therefore never pick up another run's files,
and two runs that share a stage's inputs share its output. Each artifact has a `.sha256` sidecar written
after it; an artifact whose content no longer matches its sidecar is not valid: every run verifies each stored
output once, before it would use it, and recomputes one that does not verify, saying so in one line.
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
    sha256: str  # the content's digest ('' for an output that is only planned)
    key: str | None = None  # the stage key it is stored under; None for a start model

    @property
    def identity(self) -> str:
        """What a stage that reads this artifact keys on: a stored output's own key (so every key of a run is known
        before anything runs), a start model's content digest."""
        return self.key or self.sha256


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
        return Artifact(str(path), digest, Store.key_of(path))

    @staticmethod
    def verified(path: Path) -> Artifact | None:
        """The artifact if it exists and its content still matches its recorded digest, else None."""
        sidecar = Store.sidecar(path)
        if not path.exists() or not sidecar.is_file():
            return None
        recorded = sidecar.read_text().strip()
        return Artifact(str(path), recorded, Store.key_of(path)) if path_digest(path) == recorded else None

    @staticmethod
    def unusable(path: Path) -> str | None:
        """Why a stored output that did not verify cannot be used, in words (None when it was never stored). Reads
        no content: call it once `verified` said None, so a damaged output costs no second digest."""
        has_output, has_record = path.exists(), Store.sidecar(path).is_file()
        if has_output and has_record:
            return "changed since it was stored (its sha256 no longer matches its record)"
        if has_output:
            return "has no digest record (its run stopped before sealing it)"
        if has_record:
            return "is gone (deleted after it was stored)"
        return None

    @staticmethod
    def key_of(path: Path) -> str:
        return path.name.split(".")[0]
