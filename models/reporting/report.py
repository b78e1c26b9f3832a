"""Score tables for the terminal, the README and the Prefect UI."""
from __future__ import annotations

from typing import Mapping, Sequence

from models.data import TEST_SETS
from models.evaluation import AVERAGE, DEV

SHORT_NAMES = {"STSBenchmark": "STS-B", "SICKRelatedness": "SICK-R"}
COLUMNS: tuple[str, ...] = (*TEST_SETS, AVERAGE, DEV)


def header() -> list[str]:
    return ["model", *[SHORT_NAMES.get(c, c) for c in COLUMNS]]


def table_rows(results: Sequence[tuple[str, Mapping[str, float]]]) -> list[list[str]]:
    """One row per (label, scores); missing columns show as '-'."""
    return [[label, *[f"{scores[c]:.2f}" if c in scores else "-" for c in COLUMNS]] for label, scores in results]


def markdown_table(results: Sequence[tuple[str, Mapping[str, float]]]) -> str:
    lines = ["| " + " | ".join(header()) + " |", "|" + "---|" * len(header())]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(results)]
    return "\n".join(lines)


def text_table(results: Sequence[tuple[str, Mapping[str, float]]]) -> str:
    rows = [header(), *table_rows(results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths)))
                     for row in rows)
