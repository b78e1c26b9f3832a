"""The deployment's Run form: named, typed, documented fields generated from the settings, not one free dict."""
from __future__ import annotations

import dataclasses

import pytest
from prefect.utilities.callables import parameter_schema_from_entrypoint
from pydantic import ValidationError

from models.config import PipelineConfig
from pipeline.parameters import RunSettings, overrides
from pipeline.presets import PRESETS


def test_the_deployment_schema_names_every_setting_with_its_help_and_choices() -> None:
    schema = parameter_schema_from_entrypoint("flows/full_cycle.py:full_cycle").model_dump()
    assert schema["properties"]["preset"]["enum"] == list(PRESETS)
    fields = schema["definitions"]["RunSettings"]["properties"]
    assert list(fields) == [field.name for field in dataclasses.fields(PipelineConfig)]
    assert "Mirror-BERT" in fields["warmup"]["description"]
    assert fields["warmup"]["anyOf"][0]["enum"] == ["mirror", "simcse", "isbert", "none"]


def test_fields_left_out_keep_the_preset_and_bad_values_are_refused() -> None:
    assert overrides(RunSettings(cross_lr=1e-4, max_pairs=None)) == {"cross_lr": 1e-4, "max_pairs": None}
    with pytest.raises(ValidationError, match="warmup"):
        RunSettings(warmup="bert-flow")
    with pytest.raises(ValidationError, match="cross_lrr"):
        RunSettings(cross_lrr=1e-4)
