"""Settings files: the YAML that `--config` reads, `--print-config` writes and every preset is.

Light on purpose (no torch, no Prefect): `--help` reads the presets through it.
"""
from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any

from models.config import PipelineConfig

# Keys a settings file may hold besides the settings: what it is for, and the manifest of a run that measured it.
# They describe the file and never change a run.
NOTE_KEYS: tuple[str, ...] = ("description", "measured_by")


def read_settings_file(path: Path, flag: str = "--config") -> tuple[dict[str, Any], dict[str, str]]:
    """(settings, notes) of a YAML file, the settings typed as the flags would type them (`preset:` kept as
    given); any mistake is one line naming `flag` and the file."""
    import yaml

    where = f"{flag} {path}"
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as error:
        raise ValueError(f"{where}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise ValueError(f"{where}: not valid YAML ({' '.join(str(error).split())})") from None
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping of settings (name: value), got {type(data).__name__}")
    hints = typing.get_type_hints(PipelineConfig)
    settings: dict[str, Any] = {}
    notes: dict[str, str] = {}
    for key, value in data.items():
        name = str(key).replace("-", "_")
        if name in NOTE_KEYS:
            notes[name] = str(value)
        elif name == "preset":
            settings[name] = value
        elif name not in hints:
            raise ValueError(f"{where}: unknown setting {key!r}; `trans-encoder train --help` lists them")
        else:
            settings[name] = _typed(value, base_type(hints[name]), f"{where}: {key}")
    return settings, notes


def settings_yaml(preset_name: str, config: PipelineConfig) -> str:
    """Every setting of a run as YAML: `--config` reads it back to the same settings, so to the same stage keys."""
    import yaml

    header = "# trans-encoder settings: `trans-encoder train --config FILE` runs them (flags given as well win)\n"
    return header + yaml.safe_dump({"preset": preset_name, **config.to_dict()}, sort_keys=False)


def base_type(hint: Any) -> type:
    """`int | None` -> int; plain types unchanged."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return next(arg for arg in typing.get_args(hint) if arg is not type(None))
    return hint


def _typed(value: Any, kind: type, where: str) -> Any:
    """A YAML value as the setting's type (YAML reads 1e-4 as text); None stays unset."""
    if value is None or isinstance(value, kind):
        return value
    if kind is bool or isinstance(value, (bool, list, dict)):
        raise ValueError(f"{where}: expected {kind.__name__}, got {value!r}")
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: expected {kind.__name__}, got {value!r}") from None
