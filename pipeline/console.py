"""`trans-encoder`: one command for what a user does, each subcommand a module's `main`.

Only the chosen subcommand's module is imported, and only once it has work to do: `--help` is answered from
the light parsers in pipeline/cli.py, so it does not wait for torch or Prefect to load.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from dataclasses import dataclass
from importlib import metadata
from typing import Callable, Sequence

from pipeline import cli

DISTRIBUTION = "trans-encoder-pipeline"


@dataclass(frozen=True)
class Command:
    module: str  # its `main(argv, prog)` runs the command
    summary: str
    parser: Callable[[str, Sequence[str]], argparse.ArgumentParser]  # (prog, options) -> the same options, built
    # without heavy imports, for --help


COMMANDS: dict[str, Command] = {
    "train": Command("flows.full_cycle", "warm-up and Trans-Encoder cycles as a Prefect flow, every stage cached "
                                         "(--plan: what would run)",
                     lambda prog, options: cli.settings_parser("Train: warm-up, then K cycles of bi -> cross -> bi.",
                                                               engine=True, prog=prog, argv=options)),
    "run-plain": Command("flows.plain", "the same run in one process without Prefect (a bare GPU box)",
                         lambda prog, options: cli.settings_parser("The same run in one plain process.", prog=prog,
                                                                   argv=options)),
    "score": Command("flows.score", "score a pair file with a run's recommended export or any model",
                     lambda prog, _: cli.score_parser(prog)),
    "evaluate": Command("flows.evaluate", "score models on the STS benchmarks and your labelled pairs",
                        lambda prog, _: cli.evaluate_parser(prog)),
}


def version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a checkout that was not installed
        return "unknown (not installed)"


def main(argv: Sequence[str] | None = None) -> None:
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="trans-encoder", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Label-free sentence-pair modelling: Trans-Encoder with Mirror-BERT / SimCSE / IS-BERT warm-up.",
        epilog="commands:\n" + "\n".join(f"  {name:<10} {command.summary}" for name, command in COMMANDS.items())
        + "\n\n`trans-encoder COMMAND --help` lists a command's options.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    parser.add_argument("command", choices=COMMANDS, metavar="COMMAND", help=", ".join(COMMANDS))
    parser.add_argument("options", nargs=argparse.REMAINDER, help="the command's options")
    args = parser.parse_args(arguments)
    command, prog = COMMANDS[args.command], f"trans-encoder {args.command}"
    if {"-h", "--help"} & set(args.options):
        command.parser(prog, args.options).parse_args(args.options)  # prints the help and exits
    importlib.import_module(command.module).main(args.options, prog=prog)


if __name__ == "__main__":
    main()
