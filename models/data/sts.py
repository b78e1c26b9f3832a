"""Readers for the STS benchmarks in the raw layout of shared/data/sts.

Semantics follow SentEval's "all" setting and the Trans-Encoder protocol (see the README
of the data folder): each STS year pools its subsets, unscored rows are dropped, STS-B is
split on tabs because its sentences contain unbalanced double quotes, and SICK-R test is
the SemEval test file.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.data.errors import DATA_DIR_HINT, DataError


@dataclass(frozen=True)
class LabelledPairs:
    """Sentence pairs with gold similarity scores, aligned by index."""

    name: str
    sentences1: list[str]
    sentences2: list[str]
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.scores)


TEST_SETS: tuple[str, ...] = (
    "STS12",
    "STS13",
    "STS14",
    "STS15",
    "STS16",
    "STSBenchmark",
    "SICKRelatedness",
)
STS_YEARS: dict[str, str] = {
    "STS12": "sts12",
    "STS13": "sts13",
    "STS14": "sts14",
    "STS15": "sts15",
    "STS16": "sts16",
}
STSB_SPLITS: tuple[str, ...] = ("train", "dev", "test")
SICK_TEST_FILE = "SICK_test_annotated.txt"

# One STS row: sentence 1, sentence 2 and the gold score (None where the release left it blank).
StsRow = tuple[str, str, float | None]


def require_dir(path: Path) -> Path:
    """Fail early with a fix, instead of a FileNotFoundError deep inside a reader."""
    if not path.is_dir():
        raise DataError(f"STS data folder not found: {path}; {DATA_DIR_HINT}")
    return path


def require_file(path: Path) -> Path:
    """Fail early with a fix when one expected file of the layout is absent."""
    if not path.is_file():
        raise DataError(f"STS data file not found: {path}; {DATA_DIR_HINT}")
    return path


def read_lines(path: Path) -> list[str]:
    """All lines of a UTF-8 text file, line ends removed (LF or CRLF)."""
    return require_file(path).read_text(encoding="utf-8").splitlines()


def _malformed(path: Path, line_no: int, problem: str) -> DataError:
    return DataError(f"{path}, line {line_no}: {problem}; check the file against SHA256SUMS of shared/data/sts")


def _parse_score(text: str, path: Path, line_no: int) -> float:
    try:
        return float(text)
    except ValueError:
        raise _malformed(path, line_no, f"score {text!r} is not a number") from None


def _subset_files(folder: Path) -> list[tuple[Path, Path]]:
    """(input, gold) file pairs of one STS year, subsets in case-insensitive alphabetical order.

    STS12-15 name them STS.input.<sub>.txt, STS16 STS2016.input.<sub>.txt.
    """
    inputs = sorted(
        require_dir(folder).glob("*.input.*.txt"),
        key=lambda p: p.name.split(".input.", 1)[1].lower(),
    )
    if not inputs:
        raise DataError(f"no STS input files (*.input.*.txt) in {folder}; {DATA_DIR_HINT}")
    return [(path, path.with_name(path.name.replace(".input.", ".gs.", 1))) for path in inputs]


def _read_subset(input_path: Path, gold_path: Path) -> list[StsRow]:
    """Rows of one subset; STS16 inputs carry two extra source columns, which are ignored."""
    inputs, golds = read_lines(input_path), read_lines(gold_path)
    if len(inputs) != len(golds):
        raise DataError(
            f"{input_path} has {len(inputs)} lines but {gold_path} has {len(golds)}; "
            "they must align line by line"
        )
    rows: list[StsRow] = []
    for line_no, (line, gold) in enumerate(zip(inputs, golds), start=1):
        columns = line.split("\t")
        if len(columns) < 2:
            raise _malformed(input_path, line_no, "expected two tab-separated sentences")
        score = _parse_score(gold, gold_path, line_no) if gold.strip() else None
        rows.append((columns[0], columns[1], score))
    return rows


def read_sts_year(data_dir: Path, name: str) -> list[StsRow]:
    """Every row of one STS year (scored or not), subsets concatenated in order."""
    folder = Path(data_dir) / STS_YEARS[name]
    return [row for paths in _subset_files(folder) for row in _read_subset(*paths)]


def _scored(name: str, rows: list[StsRow]) -> LabelledPairs:
    kept = [row for row in rows if row[2] is not None]
    return LabelledPairs(
        name=name,
        sentences1=[row[0] for row in kept],
        sentences2=[row[1] for row in kept],
        scores=np.array([row[2] for row in kept], dtype=np.float64),
    )


def read_stsb_split(data_dir: Path, split: str, name: str) -> LabelledPairs:
    """One STS-B csv, split on tabs: csv quoting would merge rows at unbalanced double quotes."""
    path = Path(data_dir) / "stsb" / f"sts-{split}.csv"
    sentences1: list[str] = []
    sentences2: list[str] = []
    scores: list[float] = []
    for line_no, line in enumerate(read_lines(path), start=1):
        columns = line.split("\t")
        if len(columns) < 7:
            raise _malformed(path, line_no, f"expected at least 7 tab-separated columns, got {len(columns)}")
        sentences1.append(columns[5])
        sentences2.append(columns[6])
        scores.append(_parse_score(columns[4], path, line_no))
    return LabelledPairs(name, sentences1, sentences2, np.array(scores, dtype=np.float64))


def read_tsv_columns(path: Path, columns: list[str]) -> list[list[str]]:
    """The named columns of a tab-separated file with a header row, one list per column.

    Lines are stripped, so CRLF files (SICK_test_annotated.txt) read like LF ones.
    """
    lines = [line.strip() for line in read_lines(path)]
    if not lines:
        raise DataError(f"{path} is empty; {DATA_DIR_HINT}")
    header = lines[0].split("\t")
    missing = [column for column in columns if column not in header]
    if missing:
        raise DataError(f"{path}: header lacks column(s) {missing}; it has {header}")
    indices = [header.index(column) for column in columns]
    values: list[list[str]] = [[] for _ in columns]
    for line_no, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) < len(header):
            raise _malformed(path, line_no, f"expected {len(header)} tab-separated columns, got {len(fields)}")
        for out, index in zip(values, indices):
            out.append(fields[index])
    return values


def _read_sick_test(data_dir: Path) -> LabelledPairs:
    path = Path(data_dir) / "sickr" / SICK_TEST_FILE
    sentences1, sentences2, scores = read_tsv_columns(path, ["sentence_A", "sentence_B", "relatedness_score"])
    return LabelledPairs(
        name="SICKRelatedness",
        sentences1=sentences1,
        sentences2=sentences2,
        scores=np.array(
            [_parse_score(score, path, line_no) for line_no, score in enumerate(scores, start=2)],
            dtype=np.float64,
        ),
    )


def load_test_set(data_dir: Path | str, name: str) -> LabelledPairs:
    """One test set by its name in TEST_SETS."""
    data_dir = require_dir(Path(data_dir))
    if name in STS_YEARS:
        return _scored(name, read_sts_year(data_dir, name))
    if name == "STSBenchmark":
        return read_stsb_split(data_dir, "test", name)
    if name == "SICKRelatedness":
        return _read_sick_test(data_dir)
    raise DataError(f"unknown test set {name!r}; choose one of {', '.join(TEST_SETS)}")


def load_test_sets(data_dir: Path | str) -> dict[str, LabelledPairs]:
    """All seven test sets, in TEST_SETS order."""
    return {name: load_test_set(data_dir, name) for name in TEST_SETS}


def load_stsb_dev(data_dir: Path | str) -> LabelledPairs:
    """STS-B dev (1,500 pairs, scores 0-5): the model-selection set."""
    return read_stsb_split(require_dir(Path(data_dir)), "dev", "STSBenchmark-dev")
