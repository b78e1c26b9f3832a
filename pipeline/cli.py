"""Command-line options generated from PipelineConfig, so every setting is settable and documented once."""
from __future__ import annotations

import argparse
import dataclasses
import os
import types
import typing
from typing import Any, Callable, Sequence

from models.config import CHOICES, PipelineConfig
from models.encoders.sources import resolve_model_source
from pipeline.presets import PRESETS, preset

PRESET_HELP = ("starting settings: cpu (MiniLM taught by a frozen MPNet, ~25 min on 2 CPU cores), mutual-cpu "
               "(MiniLM and MPNet trained side by side, ~2 h) or paper (the reference hyperparameters)")

EXAMPLES = """examples:
  python -m flows.full_cycle                                   # the cpu preset on the STS benchmarks
  python -m flows.full_cycle --pool custom --pool-path tickets.csv --text-a question --text-b answer
  python -m flows.evaluate runs/cpu-1a2b3c4d5e                 # score a run's exported models
"""


def add_config_options(parser: argparse.ArgumentParser, shown: PipelineConfig, preset_name: str) -> None:
    """One `--flag` per PipelineConfig field, its help showing the value under the chosen preset; unset flags
    keep the preset's value."""
    parser.add_argument("--preset", default="cpu", choices=sorted(PRESETS), help=PRESET_HELP + " (default: cpu)")
    hints = typing.get_type_hints(PipelineConfig)
    for field in dataclasses.fields(PipelineConfig):
        flag = "--" + field.name.replace("_", "-")
        kind = _base_type(hints[field.name])
        value = getattr(shown, field.name)
        help_text = f"{field.metadata.get('help', field.name.replace('_', ' '))} [{preset_name}: {_shown(value)}]"
        if kind is bool:
            parser.add_argument(flag, dest=field.name, action=argparse.BooleanOptionalAction, default=None,
                                help=help_text)
        elif field.name in CHOICES:
            parser.add_argument(flag, dest=field.name, default=None, choices=CHOICES[field.name], help=help_text)
        else:
            parser.add_argument(flag, dest=field.name, type=kind, default=None, metavar=kind.__name__.upper(),
                                help=help_text)


def _shown(value: Any) -> str:
    return "unset" if value is None or value == "" else str(value)


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given on the command line (the rest come from the preset)."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(PipelineConfig)
            if getattr(args, f.name, None) is not None}


def parse_config(argv: Sequence[str] | None, description: str,
                 more_options: Callable[[argparse.ArgumentParser], None] | None = None,
                 ) -> tuple[PipelineConfig, argparse.Namespace]:
    """The settings (a preset and the flags given) and the parsed arguments; `more_options` adds a command's own."""
    chosen = _preset_named(argv)
    parser = argparse.ArgumentParser(description=description, epilog=EXAMPLES,
                                     usage="%(prog)s [--preset NAME] [--OPTION VALUE ...]  (--help: every option)",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_options(parser, PRESETS[chosen], chosen)
    parser.add_argument("--out", default="runs", help="output root; each run gets a folder named by its settings "
                                                      "(default: runs)")
    parser.add_argument("--plan", action="store_true",
                        help="print every stage of the run with its key and whether it is cached or will run (and "
                             "why: new inputs, settings or code), then stop without running any")
    parser.add_argument("--debug", action="store_true", default=bool(os.environ.get("TE_DEBUG")),
                        help="show the traceback of input errors too (or set TE_DEBUG=1)")
    if more_options is not None:
        more_options(parser)
    args = parser.parse_args(argv)
    try:
        config = preset(args.preset, **overrides_from_args(args))
        for model in (*config.members, *config.frozen_labellers):
            resolve_model_source(model)  # a missing folder or model not installed: one line, before any work
        return config, args
    except ValueError as error:
        parser.error(str(error))
        raise


def _preset_named(argv: Sequence[str] | None) -> str:
    """The --preset on the command line (so --help can show its values), else the default."""
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--preset", default="cpu")
    named = early.parse_known_args(argv)[0].preset
    return named if named in PRESETS else "cpu"


def _base_type(hint: Any) -> type:
    """`int | None` -> int; plain types unchanged."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return next(arg for arg in typing.get_args(hint) if arg is not type(None))
    return hint
