"""A user's corpus: a pile of texts (not pairs) from which the mining stage builds the pair pool.

`.txt` holds one text per line; `.csv`, `.tsv`, `.parquet` and `.jsonl` name the text column with `--text`. The
texts are tidied as pair pools are: empty or non-text rows dropped (an error with `--strict`), repeats removed,
and both counts said out loud.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from models.config import PipelineConfig
from models.data.errors import DataError
from models.data.pools import PAIR_SUFFIXES as TABLE_SUFFIXES
from models.data.pools import check_input_file, decoded_text, read_pair_table

WHAT = "corpus file"
SUFFIXES: tuple[str, ...] = (".txt", *TABLE_SUFFIXES)


def check_corpus_file(path: str | Path | None) -> Path:
    """Everything about a corpus file that can be checked without reading it."""
    if path is None:
        raise DataError(f"--pool corpus needs --corpus-path FILE (one text per line in a .txt, or a "
                        f"{', '.join(TABLE_SUFFIXES)} file with --text COLUMN)")
    return check_input_file(path, WHAT, SUFFIXES)


def _raw_texts(path: Path, column: str, encoding: str) -> list[object]:
    if path.suffix.lower() == ".txt":
        return list(decoded_text(path, encoding).splitlines())
    table = read_pair_table(path, WHAT, encoding)
    if column not in table.columns:
        raise DataError(f"{path} has no column {column!r} (columns: {', '.join(map(str, table.columns))}); "
                        "pass --text COLUMN to name the text column")
    return table[column].tolist()


def load_corpus(path: str | Path | None, column: str = "text", strict: bool = False,
                encoding: str = "utf-8") -> tuple[list[str], dict[str, Any]]:
    """The corpus's distinct texts in file order (each stripped of surrounding spaces) and what was dropped: rows
    that are empty or not text (named by row; an error with `strict`) and exact repeats."""
    path = check_corpus_file(path)
    raw = _raw_texts(path, column, encoding)
    usable = [isinstance(value, str) and bool(value.strip()) for value in raw]
    bad_rows = [row for row, ok in enumerate(usable, start=1) if not ok]
    what_row = "line" if path.suffix.lower() == ".txt" else "data row"
    if bad_rows and (strict or len(bad_rows) == len(raw)):
        value = raw[bad_rows[0] - 1]
        fix = "fix or remove the row" if strict else "check --text names the column of texts"
        raise DataError(f"{path}, {what_row} {bad_rows[0]}: {value!r} is not a text (empty, or not a string); "
                        f"{fix}")
    texts = list(dict.fromkeys(str(value).strip() for value, ok in zip(raw, usable) if ok))
    if len(texts) < 2:
        raise DataError(f"{path}: {len(texts)} distinct text; mining pairs needs at least two distinct texts")
    tidy = {"texts": len(texts), "dropped_empty": len(bad_rows), "first_dropped_rows": bad_rows[:5],
            "duplicates": len(raw) - len(bad_rows) - len(texts), "row_name": what_row}
    return texts, tidy


def load_run_corpus(config: PipelineConfig) -> tuple[list[str], dict[str, Any]]:
    """The run's corpus as `load_corpus` reads it, with the run's text column, strictness and encoding."""
    return load_corpus(config.corpus_path, config.text, config.strict, config.encoding)


def corpus_note(path: str | Path, tidy: Mapping[str, Any]) -> str:
    """The corpus's tidying in words, for the terminal, the manifest and the summary."""
    parts = [f"corpus {path}: {tidy['texts']:,} distinct texts"]
    if tidy.get("dropped_empty"):
        rows = ", ".join(map(str, tidy["first_dropped_rows"]))
        more = ", ..." if tidy["dropped_empty"] > len(tidy["first_dropped_rows"]) else ""
        parts.append(f"dropped {tidy['dropped_empty']} empty or non-text row(s) ({tidy['row_name']}s {rows}{more}; "
                     "--strict makes that an error)")
    if tidy.get("duplicates"):
        parts.append(f"removed {tidy['duplicates']} repeated text(s)")
    return "; ".join(parts)
