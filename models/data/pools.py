"""Unlabelled sentence-pair pools for Trans-Encoder's self-distillation.

The pools are transductive (test pairs included) and never carry labels: every pool is a
DataFrame with exactly the str columns text_a and text_b. Counts follow the Trans-Encoder
protocol in the README of shared/data/sts.
"""
from __future__ import annotations

import codecs
import csv
import io
import json
from pathlib import Path
from typing import Callable

import pandas as pd

from models.data.errors import DataError
from models.data.hub import HUB_SICK, HUB_STS_YEARS, HUB_STSB_SPLITS, HubSplit, hub_origin, load_hub_split
from models.data.sts import STS_YEARS, STSB_SPLITS, read_sts_year, read_stsb_split, read_tsv_columns, require_dir

SICK_FULL_FILE = "SICK_annotated.txt"
TEXT_OPTIONS = "--text-a/--text-b"


def _frame(sentences1: list[str], sentences2: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"text_a": sentences1, "text_b": sentences2}, dtype=str)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True)


class FolderPairs:
    """The pools' parts read from an STS data folder."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = require_dir(data_dir)
        self.origin = f"the STS folder {data_dir}"

    def stsb(self) -> list[pd.DataFrame]:
        """STS-B train, dev and test."""
        return [_frame(pairs.sentences1, pairs.sentences2)
                for pairs in (read_stsb_split(self.data_dir, split, f"STSBenchmark-{split}") for split in STSB_SPLITS)]

    def sts_years(self) -> list[pd.DataFrame]:
        """Every STS12-16 row, scored or not."""
        return [_frame([row[0] for row in rows], [row[1] for row in rows])
                for rows in (read_sts_year(self.data_dir, name) for name in STS_YEARS)]

    def sick(self) -> list[pd.DataFrame]:
        """The full SICK release (train+trial+test): 9,840 pairs."""
        return [_frame(*read_tsv_columns(self.data_dir / "sickr" / SICK_FULL_FILE, ["sentence_A", "sentence_B"]))]


class HubPairs:
    """The pools' parts read from the mteb datasets on the hub (or its mirror); `read` records each split read."""

    def __init__(self) -> None:
        self.origin = hub_origin()
        self.read: list[HubSplit] = []

    def _frames(self, hub_splits: tuple[HubSplit, ...]) -> list[pd.DataFrame]:
        self.read.extend(hub_splits)
        return [_frame(pairs.sentences1, pairs.sentences2) for pairs in map(load_hub_split, hub_splits)]

    def stsb(self) -> list[pd.DataFrame]:
        """mteb/stsbenchmark-sts train, validation and test."""
        return self._frames(HUB_STSB_SPLITS)

    def sts_years(self) -> list[pd.DataFrame]:
        """STS12-16 test as mteb holds them: scored rows only."""
        return self._frames(HUB_STS_YEARS)

    def sick(self) -> list[pd.DataFrame]:
        """mteb/sickr-sts test: the 9,927 SemEval SICK pairs (train, trial and test)."""
        return self._frames((HUB_SICK,))


PairSource = FolderPairs | HubPairs


def _stsb_pool(source: PairSource) -> pd.DataFrame:
    """STS-B train+dev+test: 8,628 pairs (folder and hub)."""
    return _concat(source.stsb())


def _sts_pool(source: PairSource) -> pd.DataFrame:
    """Every STS12-16 row then all of STS-B, deduplicated on the ordered pair.

    From the folder (unscored rows included) STS12-16 alone dedupe to 25,501; STS-B mostly repeats their pairs, so
    the union is 27,237, the count of the Trans-Encoder protocol (adding STS-B without deduplication gives 34,129).
    The hub copies hold scored rows only (STS15 3,000 of 8,500 rows, STS16 1,186 of 9,183), so the hub's pool is
    13,879 pairs (measured on the mteb layout built from the folder's scored rows, tests/hub_mirror.py).
    """
    return _concat([*source.sts_years(), _stsb_pool(source)]).drop_duplicates(ignore_index=True)


def _sickr_pool(source: PairSource) -> pd.DataFrame:
    """All of SICK, not deduplicated: 9,840 pairs from the folder's full release, 9,927 from the hub."""
    return _concat(source.sick())


def _sts_sickr_pool(source: PairSource) -> pd.DataFrame:
    """The default pool: sts then sickr, no deduplication across them: 37,077 from the folder, 23,806 (13,879 +
    9,927) from the hub."""
    return _concat([_sts_pool(source), _sickr_pool(source)])


_BUILT_IN: dict[str, Callable[[PairSource], pd.DataFrame]] = {
    "stsb": _stsb_pool,
    "sts": _sts_pool,
    "sickr": _sickr_pool,
    "sts_sickr": _sts_sickr_pool,
}
BUILT_IN_POOLS: tuple[str, ...] = tuple(_BUILT_IN)
POOLS: tuple[str, ...] = (*BUILT_IN_POOLS, "custom")


def _read_csv(path: Path, encoding: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(decoded_text(path, encoding)), dtype=str, keep_default_na=False)


def _read_tsv(path: Path, encoding: str) -> pd.DataFrame:
    """No quoting: like STS-B, user TSVs may hold unbalanced double quotes inside sentences."""
    return pd.read_csv(io.StringIO(decoded_text(path, encoding)), sep="\t", quoting=csv.QUOTE_NONE, dtype=str,
                       keep_default_na=False)


def _read_parquet(path: Path, encoding: str) -> pd.DataFrame:
    """Parquet strings are always UTF-8: `encoding` does not apply."""
    return pd.read_parquet(path)


def _read_jsonl(path: Path, encoding: str) -> pd.DataFrame:
    """One JSON object per line, parsed with json so a bad line is reported by number."""
    records = []
    for line_no, line in enumerate(decoded_text(path, encoding).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            raise DataError(f"{path}, line {line_no}: not valid JSON ({reason})") from None
        if not isinstance(record, dict):
            raise DataError(f"{path}, line {line_no}: expected a JSON object, got {type(record).__name__}")
        records.append(record)
    return pd.DataFrame.from_records(records)


def decoded_text(path: Path, encoding: str) -> str:
    """The file's text; bytes that are not `encoding` are named by line, with the option that reads them.
    UTF-8 files may start with a byte-order mark (spreadsheet exports): it is not part of the first column's name."""
    raw = path.read_bytes()
    codec = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise DataError(f"{path}, line {line}: byte {raw[exc.start:exc.start + 1].hex()!r} is not {encoding} text "
                        f"({exc.reason}); pass --encoding with the file's encoding, e.g. --encoding latin-1, "
                        "cp1252 or utf-16") from None


_READERS: dict[str, Callable[[Path, str], pd.DataFrame]] = {
    ".csv": _read_csv,
    ".tsv": _read_tsv,
    ".parquet": _read_parquet,
    ".jsonl": _read_jsonl,
}
PAIR_SUFFIXES: tuple[str, ...] = tuple(_READERS)


def check_pair_file(path: Path | None, what: str = "custom pool file") -> Path:
    """Everything about a pair file that can be checked without reading it."""
    if path is None:
        raise DataError(f"pool 'custom' needs a path to a file of sentence pairs ({', '.join(_READERS)})")
    return check_input_file(path, what, PAIR_SUFFIXES)


def check_input_file(path: str | Path, what: str, suffixes: tuple[str, ...]) -> Path:
    """A user's file exists, has one of `suffixes` and is not empty (pair files and corpora alike)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{what} not found: {path}")
    if path.suffix.lower() not in suffixes:
        raise DataError(f"{what} {path} has unsupported suffix {path.suffix!r}; use one of {', '.join(suffixes)}")
    if path.stat().st_size == 0:
        raise DataError(f"{what} {path} is empty")
    return path


def read_pair_table(path: Path, what: str = "custom pool file", encoding: str = "utf-8") -> pd.DataFrame:
    """The whole table of a .csv, .tsv, .parquet or .jsonl pair file (text files read as `encoding`)."""
    try:
        return _READERS[path.suffix.lower()](path, encoding)
    except DataError:
        raise
    except ValueError as exc:  # pandas/pyarrow parse errors and bad encodings are ValueErrors
        raise DataError(f"cannot read {what} {path}: {exc}") from exc


def _first_bad_row(values: pd.Series) -> int | None:
    """1-based data-row number of the first value that is not a non-blank string."""
    bad = [not (isinstance(value, str) and value.strip()) for value in values]
    return bad.index(True) + 1 if any(bad) else None


def _require_columns(table: pd.DataFrame, path: Path, text_a: str, text_b: str) -> None:
    for option, column in (("--text-a", text_a), ("--text-b", text_b)):
        if column not in table.columns:
            raise DataError(
                f"{path} has no column {column!r} (columns: {', '.join(map(str, table.columns))}); "
                f"pass {TEXT_OPTIONS} to name the two text columns ({option} is {column!r} now)"
            )
    if table.empty:
        raise DataError(f"pair file {path} has no rows")


def select_text(table: pd.DataFrame, path: Path, text_a: str, text_b: str) -> pd.DataFrame:
    """The two text columns renamed to text_a/text_b, every row usable (else the first bad row is named);
    every other column (labels) is dropped."""
    _require_columns(table, path, text_a, text_b)
    bad = [(row, column) for column in (text_a, text_b) if (row := _first_bad_row(table[column])) is not None]
    if bad:
        row, column = min(bad)
        raise DataError(f"{path}, data row {row}: column {column!r} is empty or not text "
                        f"({table[column].iloc[row - 1]!r}); fix or remove the row")
    return _frame(table[text_a].tolist(), table[text_b].tolist())


def usable_pairs(table: pd.DataFrame, path: Path, text_a: str, text_b: str,
                 strict: bool = False) -> tuple[pd.DataFrame, dict[str, object]]:
    """An unlabelled pool's pairs, tidied and said out loud: rows with an empty or non-text sentence are dropped
    (an error with `strict`), exact duplicate pairs and a-b / b-a repeats are removed; returns what was done."""
    _require_columns(table, path, text_a, text_b)
    if strict:
        frame = select_text(table, path, text_a, text_b)
        bad = pd.Series(False, index=table.index)
    else:
        bad = ~(table[text_a].map(_is_text) & table[text_b].map(_is_text))
        if bad.all():
            raise DataError(f"{path}: no usable pair: every row has an empty or non-text {text_a!r} or {text_b!r}")
        kept = table[~bad]
        frame = _frame(kept[text_a].tolist(), kept[text_b].tolist())
    repeated = pd.Series([tuple(sorted(pair)) for pair in zip(frame["text_a"], frame["text_b"])]).duplicated()
    frame = frame[~repeated.to_numpy()].reset_index(drop=True)
    rows = [int(i) + 1 for i in bad.to_numpy().nonzero()[0][:5]]
    return frame, {"dropped_empty": int(bad.sum()), "first_dropped_rows": rows, "duplicates": int(repeated.sum())}


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def load_custom_pool(path: Path | None, text_a: str = "sentence1", text_b: str = "sentence2",
                     strict: bool = False, encoding: str = "utf-8") -> pd.DataFrame:
    """A user's pair file (.csv, .tsv, .parquet, .jsonl) reduced to usable, distinct text_a/text_b pairs; what was
    dropped is in `frame.attrs["tidy"]`."""
    path = check_pair_file(path)
    frame, notes = usable_pairs(read_pair_table(path, encoding=encoding), path, text_a, text_b, strict)
    frame.attrs["tidy"] = notes
    return frame


def load_pool(
    name: str,
    data_dir: Path | None = None,
    path: Path | None = None,
    text_a: str = "sentence1",
    text_b: str = "sentence2",
    strict: bool = False,
    encoding: str = "utf-8",
) -> pd.DataFrame:
    """The unlabelled pair pool `name`: `custom` from path, or a built-in one from data_dir, else from the hub (or
    its mirror). A built-in pool says where it came from in `frame.attrs["origin"]`, and a hub one which dataset
    splits it read in `frame.attrs["hub_splits"]`."""
    if name not in POOLS:
        raise DataError(f"unknown pool {name!r}; choose one of {', '.join(POOLS)}")
    if name == "custom":
        return load_custom_pool(path, text_a, text_b, strict, encoding)
    source = FolderPairs(Path(data_dir)) if data_dir is not None else HubPairs()
    pool = _BUILT_IN[name](source)
    pool.attrs["origin"] = source.origin
    if isinstance(source, HubPairs):
        pool.attrs["hub_splits"] = list(dict.fromkeys(source.read))
    return pool
