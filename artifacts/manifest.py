"""The run manifest: one JSON file listing every artifact and model of a run with its digest,
settings and metrics, rewritten atomically after each stage so a crash never loses it."""
from __future__ import annotations

import json
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from artifacts.atomic import write_text_atomic


@dataclass
class ManifestEntry:
    stage: str
    cycle: int | None
    path: str
    sha256: str
    status: str  # "ran" or "cached"
    seconds: float
    metrics: dict[str, Any] = field(default_factory=dict)
    member: str | None = None  # the member or scorer the stage ran for (mutual runs)
    peak_rss_mb: float | None = None  # the process's largest resident set while the stage ran
    worker: str | None = None  # host:pid of the process that ran the stage
    title: str | None = None  # the call within its run ('cycle 2: scores bi [minilm-l6]'): a plan's earlier run


@dataclass
class RunManifest:
    run_name: str
    config: dict[str, Any]
    command: str
    settings_digest: str = ""  # what the default run folder name ends with, kept when --run-name names it
    started: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    machine: str = field(
        default_factory=lambda: f"{platform.node()} {platform.machine()} {platform.processor()}".strip())
    commit: str = field(default_factory=lambda: git_commit())
    notes: list[str] = field(default_factory=list)  # what happens to the input: dropped rows, repeats, truncation
    entries: list[ManifestEntry] = field(default_factory=list)
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    best_cycle: dict[str, int] = field(default_factory=dict)
    exports: dict[str, str] = field(default_factory=dict)
    recommended: str | None = None  # the export key to use: the best on the selection set, bi or cross
    wall_seconds: float | None = None

    def add(self, entry: ManifestEntry) -> None:
        self.entries.append(entry)

    def write(self, path: Path) -> Path:
        return write_text_atomic(path, json.dumps(asdict(self), indent=2) + "\n")


def read_manifest(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def git_commit(folder: Path = Path(__file__).parent) -> str:
    """The short commit of the checkout holding `folder` (this project's by default), with `+dirty` when tracked
    files differ from it (the run may then have used code no commit holds), or 'unknown' outside a git checkout."""
    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=folder)

    try:
        head = git("rev-parse", "--short", "HEAD")
        if head.returncode != 0:
            return "unknown"
        changed = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
    except OSError:
        return "unknown"
    return head.stdout.strip() + ("+dirty" if changed else "")
