"""Mirror a stage's progress into a Prefect progress artifact (the terminal bar comes from models/)."""
from __future__ import annotations

import re

from prefect.artifacts import create_progress_artifact, update_progress_artifact

from models.progress import ProgressFn


def ui_progress(description: str) -> ProgressFn:
    """A progress callback that shows `description` and a percentage in the Prefect UI."""
    artifact_id = create_progress_artifact(0.0, key=_artifact_key(description), description=description)

    def report(done: int, total: int) -> None:
        update_progress_artifact(artifact_id, progress=100.0 * done / max(total, 1))

    return report


def _artifact_key(description: str) -> str:
    """Prefect artifact keys allow lowercase letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9]+", "-", description.lower()).strip("-")
