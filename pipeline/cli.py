"""Every command's options: the run settings generated from PipelineConfig (settable and documented once), and the
scoring commands' own. Light on purpose (no torch, no Prefect): `--help` answers without loading them."""
from __future__ import annotations

import argparse
import dataclasses
import os
import typing
from pathlib import Path
from typing import Any, Sequence

from models.config import CHOICES, PipelineConfig
from models.data import DEV, TEST_SETS
from pipeline.presets import DEFAULT_PRESET, PRESETS, all_presets, preset
from pipeline.settings_file import base_type, read_settings_file, settings_yaml

ENGINES = ("local", "ray")
EXAMPLES = """examples:
  trans-encoder train                                  # the cpu preset on the STS benchmarks
  trans-encoder train --plan                           # what would run, and why, without running it
  trans-encoder train --pool custom --pool-path tickets.csv --text-a question --text-b answer
  trans-encoder evaluate runs/cpu-1a2b3c4d5e           # score a run's exported models
(`python -m flows.full_cycle` takes the same options as `trans-encoder train`)
"""


def add_config_options(parser: argparse.ArgumentParser, shown: PipelineConfig, preset_name: str) -> None:
    """One `--flag` per PipelineConfig field, its help showing the value under the chosen preset; unset flags
    keep the preset's value."""
    parser.add_argument("--preset", choices=list(PRESETS), help=preset_help())
    hints = typing.get_type_hints(PipelineConfig)
    for field in dataclasses.fields(PipelineConfig):
        flag = "--" + field.name.replace("_", "-")
        kind = base_type(hints[field.name])
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


def preset_help() -> str:
    """The presets, each with what it is for and its measured time, as the files say."""
    listed = "; ".join(f"{name} = {found.summary}" for name, found in all_presets().items())
    return (f"starting settings, each a settings file in pipeline/presets/: {listed}. Default: the --config "
            f"file's preset, else {DEFAULT_PRESET}")


def _shown(value: Any) -> str:
    return "unset" if value is None or value == "" else str(value)


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given on the command line (the rest come from the preset)."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(PipelineConfig)
            if getattr(args, f.name, None) is not None}


def settings_parser(description: str, engine: bool = False, prog: str | None = None,
                    argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The options of a run command (every setting, --config, --print-config, --out, --run-name, --plan, --debug;
    with `engine`: --engine and --ray-address); `argv` names the preset whose values --help shows."""
    chosen = _preset_named(argv)
    parser = argparse.ArgumentParser(prog=prog, description=description, epilog=EXAMPLES,
                                     usage="%(prog)s [--preset NAME] [--config FILE] [--OPTION VALUE ...]  "
                                           "(--help: every option)",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="a YAML file of settings (`preset:` and any option below, named as here with dashes or "
                             "underscores); flags given as well override it")
    parser.add_argument("--print-config", action="store_true",
                        help="print the resolved settings as YAML that --config reads back to the same run, and stop")
    add_config_options(parser, PRESETS[chosen], chosen)
    parser.add_argument("--out", default="runs", help="output root; each run gets a folder named by its settings "
                                                      "(default: runs)")
    parser.add_argument("--plan", action="store_true",
                        help="print every stage of the run with its key and whether it is cached or will run (and "
                             "why: new inputs, settings or code), then stop without running any")
    parser.add_argument("--debug", action="store_true", default=bool(os.environ.get("TE_DEBUG")),
                        help="show the traceback of input errors too (or set TE_DEBUG=1)")
    if engine:
        parser.add_argument("--engine", choices=ENGINES, default="local",
                            help="where stage tasks run: local (this process) or ray (a Ray cluster; mutual members' "
                                 "stages at once) (default: local)")
        parser.add_argument("--ray-address", help="with --engine ray: a running cluster to attach to (e.g. "
                                                  "ray://head:10001 or auto); without it a local cluster is started")
    return parser


def parse_config(argv: Sequence[str] | None, description: str, engine: bool = False,
                 prog: str | None = None) -> tuple[PipelineConfig, argparse.Namespace]:
    """The settings (a preset, then the --config file, then the flags given) and the parsed arguments, with the
    preset resolved in `args.preset` and every setting that differs from it in `args.settings`."""
    parser = settings_parser(description, engine, prog, argv)
    args = parser.parse_args(argv)
    try:
        from_file = read_settings_file(args.config)[0] if args.config else {}
        file_preset = from_file.pop("preset", None)
        args.preset = args.preset or file_preset or DEFAULT_PRESET
        args.settings = from_file | overrides_from_args(args)
        config = preset(args.preset, **args.settings)
    except ValueError as error:
        parser.error(str(error))
        raise
    if args.print_config:
        print(settings_yaml(args.preset, config), end="")
        raise SystemExit(0)
    from models.encoders.sources import resolve_model_source  # loads torch: only once work starts

    try:
        for model in (*config.members, *config.frozen_labellers):
            resolve_model_source(model)  # a missing folder or model not installed: one line, before any work
        return config, args
    except ValueError as error:
        parser.error(str(error))
        raise


def _preset_named(argv: Sequence[str] | None) -> str:
    """The --preset on the command line, else the --config file's (so --help shows its values), else cpu."""
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--preset")
    early.add_argument("--config", type=Path)
    known = early.parse_known_args(argv)[0]
    named = known.preset
    if named is None and known.config is not None:
        try:
            named = read_settings_file(known.config)[0].get("preset")
        except ValueError:
            named = None  # the full parse reports it
    return named if named in PRESETS else DEFAULT_PRESET


SCORE_HELP = """Score a pair file with a run's recommended export, or any model: labels without code.

  trans-encoder score runs/cpu-1a2b3c4d5e pairs.csv --out scored.parquet
  trans-encoder score runs/cpu-1a2b3c4d5e pairs.csv --kind bi --text-a question --text-b answer
"""


def score_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=SCORE_HELP.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(SCORE_HELP.splitlines()[2:]))
    parser.add_argument("model", help="a run folder, a model folder, an installed short name or a hub id")
    parser.add_argument("pairs", type=Path, help="the pair file: .csv, .tsv, .parquet or .jsonl")
    parser.add_argument("--out", type=Path, default=Path("scored.parquet"),
                        help="output Parquet (default: scored.parquet)")
    parser.add_argument("--kind", choices=("auto", "bi", "cross"), default="auto",
                        help="which model of a run, or how to read a model (default: the export the run recommends, "
                             "a model's own kind)")
    parser.add_argument("--text-a", default="sentence1", help="first text column (default: sentence1)")
    parser.add_argument("--text-b", default="sentence2", help="second text column (default: sentence2)")
    parser.add_argument("--encoding", default="utf-8",
                        help="text encoding of a .csv/.tsv/.jsonl pair file (default: utf-8)")
    parser.add_argument("--batch-size", type=int, default=128, help="pairs per forward pass (default: 128)")
    parser.add_argument("--chunk", type=int, default=10_000, help="pairs scored and written at a time (default: 10000)")
    parser.add_argument("--max-length", type=int, default=256, help="tokens per sentence or pair (default: 256)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    parser.add_argument("--precision", default="auto", choices=CHOICES["precision"],
                        help="auto (bf16/fp16 on GPU, fp32 on CPU), fp32, bf16 or fp16 (default: auto)")
    add_backend_flags(parser)
    return parser


def add_backend_flags(parser: argparse.ArgumentParser) -> None:
    """Which runtime serves the model (score, evaluate): the run's exported ONNX graphs or PyTorch, fp32 or int8."""
    parser.add_argument("--backend", choices=CHOICES["backend"], default="torch",
                        help="torch, or onnx: ONNX Runtime on the graph the run exported beside the weights (exported "
                             "now for a folder without one); CPU only (default: torch)")
    parser.add_argument("--int8", action="store_true",
                        help="compute on ONNX Runtime with int8 weights (the graph the run exported, per-channel "
                             "int8; CPU only): faster, within 0.3 points of STS-B dev for the models measured in "
                             "benchmarks/INT8.md")


EVALUATE_HELP = "Score models on the STS benchmarks, on your labelled pairs and on a search task."


def evaluate_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=EVALUATE_HELP,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("models", nargs="*", default=["minilm-l6"],
                        help="run folders, model folders, installed short names or hub ids")
    parser.add_argument("--kind", choices=("auto", "bi", "cross"), default="auto",
                        help="bi or cross; auto reads the model's config (sequence classifier = cross)")
    parser.add_argument("--data-dir", help="STS benchmark folder (default: $STS_DATA_DIR, else the hub)")
    parser.add_argument("--tasks", nargs="+", metavar="TASK", choices=[*TEST_SETS, DEV],
                        help=f"score only these of: {', '.join([*TEST_SETS, DEV])}")
    parser.add_argument("--pairs", help="your labelled pairs (.csv, .tsv, .parquet, .jsonl): Spearman for graded "
                                        "labels, ROC-AUC for 0/1 labels")
    parser.add_argument("--label-column", default="label", help="label column of --pairs")
    parser.add_argument("--text-a", default="sentence1", help="first text column of --pairs")
    parser.add_argument("--text-b", default="sentence2", help="second text column of --pairs")
    parser.add_argument("--encoding", default="utf-8", help="text encoding of a .csv/.tsv/.jsonl --pairs file")
    parser.add_argument("--retrieval", metavar="DIR_OR_PAIR_FILE",
                        help="a search task: a BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv) or a "
                             "pair file with 0/1 labels (--text-a: queries, --text-b: their relevant texts); each "
                             "bi-encoder's nDCG@10, MRR@10, Recall@10 and Recall@100")
    parser.add_argument("--rerank", type=int, metavar="K",
                        help="with --retrieval: each cross-encoder given also reranks the top K of the bi-encoder "
                             "beside it (the same run folder and member; else every bi-encoder given on its own)")
    parser.add_argument("--skip-sts", action="store_true",
                        help="score only --pairs and --retrieval, not the STS benchmarks (no STS folder needed)")
    parser.add_argument("--pooling", choices=("cls", "mean"), help="bi-encoder pooling (default: the folder's own)")
    parser.add_argument("--max-length", type=int, default=256, help="tokens per sentence (bi) or pair (cross)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--precision", default="auto", choices=CHOICES["precision"],
                        help="auto (bf16/fp16 on GPU, fp32 on CPU), fp32, bf16 or fp16")
    add_backend_flags(parser)
    parser.add_argument("--out", default="evaluation.json", help="where the JSON table goes")
    return parser
