"""Where a benchmark report's numbers come from, said the same way in each: command, commit, machine, date."""
from __future__ import annotations

import os
import platform
import shlex
import sys
from datetime import datetime, timezone
from typing import Sequence

from artifacts.manifest import git_commit


def provenance(module: str, argv: Sequence[str] | None) -> str:
    """'`python -m MODULE ARGS` at commit C on HOST (N cores), DATE' for the command that wrote the report."""
    command = shlex.join(["python", "-m", module, *(argv if argv is not None else sys.argv[1:])])
    date = datetime.now(timezone.utc).isoformat(timespec="minutes")
    return f"`{command}` at commit {git_commit()} on {platform.node()} ({os.cpu_count()} cores), {date}"
