"""The named starting settings of a run (`--preset NAME`): the settings files `pipeline/presets/NAME.yaml`.

A preset is an ordinary settings file (`trans-encoder train --config pipeline/presets/cpu.yaml` is the `cpu`
preset), so a user copies one to start their own. A variant names the preset it starts from (`preset: cpu`) and
lists only what it changes. Each names what it is for and, where one was run, the manifest that measured it;
`--help` quotes that manifest's time, so no time is written by hand.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from models.config import PipelineConfig
from pipeline.settings_file import read_settings_file

PRESET_DIR = Path(__file__).parent
REPOSITORY = PRESET_DIR.parent.parent
DEFAULT_PRESET = "cpu"


@dataclass(frozen=True)
class Preset:
    """One preset file: its settings, what it is for and the manifest of a run of it (a repository path)."""

    name: str
    config: PipelineConfig
    description: str
    measured_by: str | None

    @property
    def measured_minutes(self) -> int | None:
        """The measured run's wall time in whole minutes, when its manifest is at hand."""
        manifest = REPOSITORY / self.measured_by if self.measured_by else None
        if manifest is None or not manifest.is_file():
            return None
        return round(json.loads(manifest.read_text())["wall_seconds"] / 60)

    @property
    def summary(self) -> str:
        """One line for --help and the deployments: what it is for and how long its measured run took."""
        minutes = self.measured_minutes
        return self.description + (f", {minutes} min measured in {self.measured_by}" if minutes is not None else "")


def _load(path: Path, loading: tuple[str, ...] = ()) -> Preset:
    """A preset file's settings over the reference values, or over the preset it names (`preset: cpu`), so a
    variant lists only what it changes; `loading`: the variants waiting on this file, so a loop is named."""
    settings, notes = read_settings_file(path, "preset")
    base_name = settings.pop("preset", None)
    base = PipelineConfig()
    if base_name is not None:
        base_path = PRESET_DIR / f"{base_name}.yaml"
        if base_name in (*loading, path.stem) or not base_path.is_file():
            raise ValueError(f"preset {path} starts from preset {base_name!r}, which is not another file in "
                             f"{PRESET_DIR} or starts from it in turn")
        base = _load(base_path, (*loading, path.stem)).config
    return Preset(path.stem, base.replace(**settings), notes.get("description", path.stem), notes.get("measured_by"))


@cache
def all_presets() -> dict[str, Preset]:
    """Every preset file, cpu first (the default), then by name."""
    found = {path.stem: _load(path) for path in sorted(PRESET_DIR.glob("*.yaml"))}
    return dict(sorted(found.items(), key=lambda item: item[0] != DEFAULT_PRESET))


PRESETS: dict[str, PipelineConfig] = {name: found.config for name, found in all_presets().items()}


def preset(name: str, **overrides: Any) -> PipelineConfig:
    """A preset with some fields changed; unknown names and fields, and a file the settings read but leave unnamed,
    fail with one line."""
    if name not in PRESETS:
        raise ValueError(f"--preset must be one of {', '.join(PRESETS)}; got {name!r}")
    fields = set(PipelineConfig.__dataclass_fields__)
    unknown = set(overrides) - fields
    if unknown:
        raise ValueError(f"unknown setting(s) {sorted(unknown)}; valid: {sorted(fields)}")
    config = PRESETS[name].replace(**overrides)
    config.check_input_files_named()
    return config
