"""Every bad input we know of, fed to `train`, `score` and `evaluate`, and what the user sees: docs/BAD_INPUTS.md.

Each case is a real command on a real (small, generated) file; the table records its exit code and its
stderr as printed, so the doc cannot drift from the code.

    python -m benchmarks.bad_inputs            # writes docs/BAD_INPUTS.md
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from unittest import mock

import pandas as pd

from models.data import HUB_MIRROR_ENV

REPO = Path(__file__).resolve().parent.parent
GOOD_ROWS = [(f"how do I reset my password {i}", f"password reset steps {i}") for i in range(200)]


# The command a case runs -> its module (`trans-encoder COMMAND` runs the same `main`).
COMMANDS: dict[str, str] = {"train": "flows.full_cycle", "score": "flows.score", "evaluate": "flows.evaluate"}


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[Path], list[str]]  # writes its files under the folder, returns the command's flags
    command: str = "train"

    def argv(self, flags: list[str], folder: Path) -> list[str]:
        """The flags with what keeps the case in its temp folder: `--out` there, and no frozen labeller to train."""
        out = [] if "--out" in flags else ["--out", str(folder / ("out" if self.command == "train" else "out.json"))]
        return (["--labellers", ""] if self.command == "train" else []) + [*flags, *out]


def _csv(folder: Path, name: str, rows: list[tuple[object, object]],
         columns: tuple[str, str] = ("sentence1", "sentence2"), **extra: list[object]) -> Path:
    path = folder / name
    frame = pd.DataFrame({columns[0]: [a for a, _ in rows], columns[1]: [b for _, b in rows], **extra})
    frame.to_csv(path, index=False)
    return path


def _pool(path: Path, *flags: str) -> list[str]:
    return ["--pool", "custom", "--pool-path", str(path), *flags]


def _corpus(path: Path, *flags: str) -> list[str]:
    return ["--pool", "corpus", "--corpus-path", str(path), *flags]


def _parquet(folder: Path, name: str, **columns: list[object]) -> Path:
    pd.DataFrame(columns).to_parquet(folder / name)
    return folder / name


def _write(folder: Path, name: str, content: bytes) -> Path:
    (folder / name).write_bytes(content)
    return folder / name


def _search_folder(folder: Path, qrels: str = "query-id\tcorpus-id\tscore\nq1\td1\t1\n",
                   queries: bool = True) -> Path:
    """A one-query BEIR folder, with the given judgements (and without queries.jsonl when not `queries`)."""
    (folder / "task" / "qrels").mkdir(parents=True)
    _write(folder / "task", "corpus.jsonl", b'{"_id": "d1", "text": "reset a password"}\n')
    if queries:
        _write(folder / "task", "queries.jsonl", b'{"_id": "q1", "text": "forgot my password"}\n')
    _write(folder / "task" / "qrels", "test.tsv", qrels.encode())
    return folder / "task"


def _model_folder(folder: Path) -> Path:
    """A model folder with pickled weights only, which we refuse to load."""
    (folder / "model").mkdir()
    _write(folder / "model", "config.json", b'{"model_type": "bert"}')
    return _write(folder / "model", "pytorch_model.bin", b"pickle").parent


CASES: tuple[Case, ...] = (
    Case("pool file missing", lambda d: _pool(d / "absent.csv")),
    Case("unsupported suffix", lambda d: _pool(_write(d, "pairs.xlsx", b"PK\x03\x04"))),
    Case("empty file", lambda d: _pool(_write(d, "pairs.csv", b""))),
    Case("header only", lambda d: _pool(_write(d, "pairs.csv", b"sentence1,sentence2\n"))),
    Case("text columns named otherwise", lambda d: _pool(_csv(d, "pairs.csv", GOOD_ROWS, ("question", "answer")))),
    Case("every row has an empty sentence", lambda d: _pool(_csv(d, "pairs.csv", [("a", "")] * 5))),
    Case("--strict and one empty sentence", lambda d: _pool(_csv(d, "pairs.csv", [*GOOD_ROWS, ("a", "")]), "--strict")),
    Case("too few pairs to train on", lambda d: _pool(_csv(d, "pairs.csv", GOOD_ROWS[:3]))),
    Case("too few pairs once repeats are removed",
         lambda d: _pool(_csv(d, "pairs.csv", [GOOD_ROWS[0]] * 196 + GOOD_ROWS[1:5]))),
    Case("JSON lines: a broken line",
         lambda d: _pool(_write(d, "pairs.jsonl", b'{"sentence1": "a", "sentence2": "b"}\n{"sentence1": "a",\n'))),
    Case("JSON lines: not an object", lambda d: _pool(_write(d, "pairs.jsonl", b'["a", "b"]\n'))),
    Case("Latin-1 file read as UTF-8", lambda d: _pool(_write(d, "pairs.csv", "sentence1,sentence2\ncafé,open\n"
                                                               .encode("latin-1")))),
    Case("unknown --encoding", lambda d: _pool(_csv(d, "pairs.csv", GOOD_ROWS), "--encoding", "klingon")),
    Case("random bytes as Parquet", lambda d: _pool(_write(d, "pairs.parquet", b"not parquet at all"))),
    Case("corpus: the file is empty", lambda d: _corpus(_write(d, "texts.txt", b""))),
    Case("corpus: one distinct text", lambda d: _corpus(_write(d, "texts.txt", b"reset my password\n" * 3))),
    Case("corpus: the text column named otherwise",
         lambda d: _corpus(_write(d, "texts.csv", b"body\nreset my password\nopen an account\n"))),
    Case("corpus: a column that is not text", lambda d: _corpus(_parquet(d, "texts.parquet", text=[1, 2, 3]))),
    Case("--pool corpus without a file", lambda d: ["--pool", "corpus"]),
    Case("dev pairs: a label that is not a number",
         lambda d: _pool(_csv(d, "pairs.csv", GOOD_ROWS), "--dev-pairs",
                         str(_csv(d, "dev.csv", GOOD_ROWS[:3], label=[1, "high", 0])))),
    Case("dev pairs: every label the same", lambda d: _pool(_csv(d, "pairs.csv", GOOD_ROWS), "--dev-pairs",
                                                            str(_csv(d, "dev.csv", GOOD_ROWS[:3], label=[1, 1, 1])))),
    Case("dev pairs: no label column", lambda d: _pool(_csv(d, "pairs.csv", GOOD_ROWS), "--dev-pairs",
                                                       str(_csv(d, "dev.csv", GOOD_ROWS[:3])))),
    Case("--eval dev without --dev-pairs", lambda d: _pool(_csv(d, "pairs.csv", GOOD_ROWS), "--eval", "dev")),
    Case("--pool custom without a file", lambda d: ["--pool", "custom"]),
    Case("a built-in pool with no STS folder", lambda d: ["--pool", "sts", "--data-dir", str(d / "no-sts")]),
    Case("the default pool offline, with no STS folder or hub mirror", lambda d: ["--pool", "sts_sickr"]),
    Case("unknown choice", lambda d: ["--warmup", "bert-flow"]),
    Case("--ray-address without --engine ray", lambda d: [*_pool(_csv(d, "pairs.csv", GOOD_ROWS)), "--ray-address",
                                                           "auto"]),
    Case("a number that cannot be", lambda d: ["--max-pairs", "0"]),
    Case("a model folder without safetensors", lambda d: [*_pool(_csv(d, "pairs.csv", GOOD_ROWS)), "--model",
                                                          str(_model_folder(d))]),
    Case("a model name that is not installed or a folder", lambda d: [*_pool(_csv(d, "pairs.csv", GOOD_ROWS)),
                                                                       "--model", "no-such-model-xyz"]),
    Case("score: the pair file is missing", lambda d: ["minilm-l6", str(d / "absent.csv")], "score"),
    Case("score: text columns named otherwise",
         lambda d: ["minilm-l6", str(_csv(d, "pairs.csv", GOOD_ROWS, ("question", "answer")))], "score"),
    Case("score: a run folder that has not finished",
         lambda d: [str(_write(d, "manifest.json", b"{}").parent), str(_csv(d, "pairs.csv", GOOD_ROWS))], "score"),
    Case("score: a model name that is not installed or a folder",
         lambda d: ["no-such-model-xyz", str(_csv(d, "pairs.csv", GOOD_ROWS))], "score"),
    Case("evaluate: the STS benchmarks offline with no STS folder", lambda d: ["minilm-l6"], "evaluate"),
    Case("evaluate: a model name that is not installed or a folder",
         lambda d: ["no-such-model-xyz", "--skip-sts", "--pairs",
                    str(_csv(d, "dev.csv", GOOD_ROWS[:3], label=[1, 0, 1]))], "evaluate"),
    Case("evaluate: labelled pairs without their label column",
         lambda d: ["minilm-l6", "--skip-sts", "--pairs", str(_csv(d, "dev.csv", GOOD_ROWS[:3]))], "evaluate"),
    Case("evaluate: a retrieval folder without queries.jsonl",
         lambda d: ["minilm-l6", "--skip-sts", "--retrieval", str(_search_folder(d, queries=False))], "evaluate"),
    Case("evaluate: retrieval judgements naming an unknown document",
         lambda d: ["minilm-l6", "--skip-sts", "--retrieval", str(_search_folder(d, "q1\td9\t1\n"))], "evaluate"),
    Case("dev retrieval: no judgement above 0",
         lambda d: [*_pool(_csv(d, "pairs.csv", GOOD_ROWS)), "--dev-retrieval", str(_search_folder(d, "q1\td1\t0\n"))]),
    Case("--out is a file", lambda d: [*_pool(_csv(d, "pairs.csv", GOOD_ROWS)), "--out",
                                       str(_write(d, "runs", b"a file"))]),
)


def run_case(case: Case, in_process: bool = False) -> tuple[list[str], int, str]:
    """Its flags (with the temp folder shown as DIR), exit code and stderr: from a real `python -m flows.full_cycle`
    process, or (`in_process`, for tests: no interpreter start per case) from the same `main` called here."""
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        flags = case.make(folder)
        module = COMMANDS[case.command]
        argv = case.argv(flags, folder)
        code, stderr = _call_main(module, argv) if in_process else _call_process(module, argv)
        shown = lambda text: text.replace(temp, "DIR")  # noqa: E731
        return [shown(flag) for flag in flags], code, shown(stderr.strip())


def offline_env() -> dict[str, str]:
    """This process's environment offline, with no STS folder and no hub mirror: how every case runs."""
    return {k: v for k, v in os.environ.items() if k not in ("STS_DATA_DIR", HUB_MIRROR_ENV)} | {"HF_HUB_OFFLINE": "1"}


def _call_process(module: str, argv: list[str]) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-m", module, *argv], cwd=REPO, env=offline_env(),
                          capture_output=True, text=True, timeout=300)
    return done.returncode, done.stderr


def _call_main(module: str, argv: list[str]) -> tuple[int, str]:
    """`module.main(argv)` in `offline_env()`; an exception other than SystemExit propagates (a bug)."""
    cli_main = importlib.import_module(module).main
    stderr = io.StringIO()
    program, sys.argv[0] = sys.argv[0], str(REPO / f"{module.replace('.', '/')}.py")  # argparse's prog, as `-m` sets it
    try:
        with contextlib.redirect_stderr(stderr), mock.patch.dict(os.environ, offline_env(), clear=True):
            cli_main(argv)
        return 0, stderr.getvalue()
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1, stderr.getvalue()
    finally:
        sys.argv[0] = program


def table_row(case: Case, flags: list[str], code: int, stderr: str) -> str:
    """The case's row of docs/BAD_INPUTS.md (a test compares every row with what the case prints today)."""
    cell = stderr.replace("|", "\\|").replace("\n", "<br>")
    return f"| {case.name} | `trans-encoder {case.command} {' '.join(flags)}` | {code} | {cell} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "BAD_INPUTS.md")
    parser.add_argument("--in-process", action="store_true",
                        help="call each command's main here instead of starting a process per case (the same output: "
                             "tests/test_cli.py compares the two; about 30 s less per case on 2 busy cores)")
    args = parser.parse_args()
    how = "its command's `main`, called in one process," if args.in_process else "a real process"
    lines = ["# Bad inputs and what the user sees", "",
             f"Generated by `python -m benchmarks.bad_inputs`: each row ran {how} offline with no STS folder and no "
             "hub mirror (`train` also with `--labellers ''`, and every command with `--out` in the case's temp "
             "folder, shown as DIR). Exit 2 is an input error, found before any model loads.", "",
             "| case | command | exit | stderr |", "|---|---|---|---|"]
    for case in CASES:
        flags, code, stderr = run_case(case, args.in_process)
        print(f"{case.name}: exit {code}\n  {stderr}", flush=True)
        lines.append(table_row(case, flags, code, stderr))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
