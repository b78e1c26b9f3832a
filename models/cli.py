"""Command-line options generated from PipelineConfig, so every setting is settable and documented once."""
from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any, Sequence

from models.config import PRESETS, PipelineConfig, preset
from models.encoders.sources import resolve_model_source


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """One `--flag` per PipelineConfig field; unset flags keep the preset's value."""
    parser.add_argument("--preset", default="cpu", choices=sorted(PRESETS),
                        help="starting settings: cpu (MiniLM taught by a frozen MPNet, ~20 min on 2 CPU cores), "
                             "mutual-cpu (MiniLM and MPNet trained side by side, ~2 h) or paper (reference hyperparameters)")
    hints = typing.get_type_hints(PipelineConfig)
    for field in dataclasses.fields(PipelineConfig):
        flag = "--" + field.name.replace("_", "-")
        kind = _base_type(hints[field.name])
        help_text = field.metadata.get("help", field.name.replace("_", " "))
        if kind is bool:
            parser.add_argument(flag, dest=field.name, action=argparse.BooleanOptionalAction, default=None,
                                help=help_text)
        else:
            parser.add_argument(flag, dest=field.name, type=kind, default=None, metavar=kind.__name__.upper(),
                                help=help_text)


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given on the command line (the rest come from the preset)."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(PipelineConfig)
            if getattr(args, f.name, None) is not None}


def parse_config(argv: Sequence[str] | None, description: str) -> tuple[PipelineConfig, argparse.Namespace]:
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_config_options(parser)
    parser.add_argument("--out", default="runs", help="output root; each run gets a folder named by its settings")
    args = parser.parse_args(argv)
    try:
        config = preset(args.preset, **overrides_from_args(args))
        for model in (*config.members, *config.frozen_labellers):
            resolve_model_source(model)  # a missing folder or model not installed: one line, before any work
        return config, args
    except ValueError as error:
        parser.error(str(error))
        raise


def _base_type(hint: Any) -> type:
    """`int | None` -> int; plain types unchanged."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return next(arg for arg in typing.get_args(hint) if arg is not type(None))
    return hint
