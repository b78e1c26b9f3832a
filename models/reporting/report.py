"""Score tables for the terminal, the README and the Prefect UI."""
from __future__ import annotations

from typing import Mapping, Sequence

from models.data import DEV, OWN_DEV, TEST_SETS
from models.metrics import AVERAGE, RETRIEVAL_METRICS

SHORT_NAMES = {"STSBenchmark": "STS-B", "SICKRelatedness": "SICK-R"}
STS_COLUMNS: tuple[str, ...] = (*TEST_SETS, AVERAGE, DEV)
COLUMNS: tuple[str, ...] = (*STS_COLUMNS, OWN_DEV, *RETRIEVAL_METRICS)


Rows = Sequence[tuple[str, Mapping[str, float]]]


def columns_of(results: Rows) -> list[str]:
    """The known columns that at least one row has, in the standard order (STS sets, avg, dev, own dev, search)."""
    return [c for c in COLUMNS if any(c in scores for _, scores in results)] or list(STS_COLUMNS)


def header(results: Rows) -> list[str]:
    return ["model", *[SHORT_NAMES.get(c, c) for c in columns_of(results)]]


def table_rows(results: Rows) -> list[list[str]]:
    """One row per (label, scores); missing columns show as '-'."""
    columns = columns_of(results)
    return [[label, *[f"{scores[c]:.2f}" if c in scores else "-" for c in columns]] for label, scores in results]


def table_records(results: Rows) -> list[dict[str, str]]:
    """The table as one dict per row (a Prefect table artifact)."""
    return [dict(zip(header(results), row)) for row in table_rows(results)]


def markdown_table(results: Rows) -> str:
    lines = ["| " + " | ".join(header(results)) + " |", "|" + "---|" * len(header(results))]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(results)]
    return "\n".join(lines)


def text_table(results: Rows) -> str:
    rows = [header(results), *table_rows(results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths)))
                     for row in rows)
