"""The run settings as a typed parameter model, for the Prefect deployment's Run form: one named field per
setting, with its help text and, where it takes one of a few values, those values.

Every field is optional: a field left out keeps the preset's value, one given (even as null) replaces it.
Generated from PipelineConfig, so a new setting appears in the form by itself.
"""
from __future__ import annotations

import dataclasses
import typing
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from models.config import CHOICES, PipelineConfig
from pipeline.cli import ENGINES
from pipeline.presets import PRESETS


def _field_type(name: str, hint: Any) -> Any:
    if name in CHOICES:
        return Literal[CHOICES[name]] | None  # type: ignore[valid-type]
    return hint | None


def _settings_model() -> type[BaseModel]:
    hints = typing.get_type_hints(PipelineConfig)
    fields: dict[str, Any] = {
        field.name: (_field_type(field.name, hints[field.name]), Field(None, description=field.metadata.get("help")))
        for field in dataclasses.fields(PipelineConfig)}
    return create_model("RunSettings", __config__=ConfigDict(extra="forbid"), **fields)


RunSettings = _settings_model()
PresetName = Literal[tuple(PRESETS)]  # type: ignore[valid-type]
EngineName = Literal[ENGINES]  # type: ignore[valid-type]


def overrides(settings: BaseModel | dict[str, Any] | None) -> dict[str, Any]:
    """The settings a caller gave (a RunSettings or a plain dict), the rest left to the preset."""
    if settings is None:
        return {}
    if isinstance(settings, BaseModel):
        return settings.model_dump(exclude_unset=True)
    return dict(settings)
