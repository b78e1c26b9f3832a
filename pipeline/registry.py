"""Every stage, found in pipeline/stages/: a module there with a `STAGE` declaration is a stage."""
from __future__ import annotations

import importlib
import pkgutil

import pipeline.stages
from pipeline.stage import Stage


def _discover() -> dict[str, Stage]:
    found: dict[str, Stage] = {}
    for module_info in pkgutil.iter_modules(pipeline.stages.__path__, "pipeline.stages."):
        declared = getattr(importlib.import_module(module_info.name), "STAGE", None)
        if isinstance(declared, Stage):
            if declared.name in found:
                raise RuntimeError(f"two stages are named {declared.name!r}: {found[declared.name].module} and "
                                   f"{declared.module}")
            found[declared.name] = declared
    return found


STAGES: dict[str, Stage] = _discover()
