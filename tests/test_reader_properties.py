"""Property: any file handed to the pair readers either loads into the fixed schema or raises DataError.

A user's file can be anything (a spreadsheet export, a log, a Parquet file of another tool), so no
exception from inside pandas, pyarrow or json may reach them as a traceback.
"""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.data import DataError
from models.data.labelled import load_labelled_pairs
from models.data.pools import load_pool

SUFFIXES = (".csv", ".tsv", ".jsonl", ".parquet")
COLUMNS = st.sampled_from(["sentence1", "sentence2", "label", "", "x", "sentence1 ", "0"])
CELLS = st.one_of(st.text(max_size=12), st.sampled_from(["", " ", '"', "a,b", "a\tb", "\n", "1.5", "nan", "\ufeff"]))
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                         max_size=3), max_leaves=6)
ARROW_COLUMNS = st.sampled_from([
    (pa.string(), st.one_of(st.none(), st.text(max_size=8))),
    (pa.large_string(), st.text(max_size=8)),
    (pa.int64(), st.one_of(st.none(), st.integers(-2**63, 2**63 - 1))),
    (pa.float64(), st.floats()),
    (pa.bool_(), st.booleans()),
    (pa.binary(), st.binary(max_size=8)),
    (pa.list_(pa.string()), st.lists(st.text(max_size=4), max_size=2)),
    (pa.struct([("t", pa.string())]), st.fixed_dictionaries({"t": st.text(max_size=4)})),
    (pa.null(), st.none()),
])
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _delimited(rows: list[list[str]], sep: str) -> str:
    return "\n".join(sep.join(row) for row in rows)


@st.composite
def text_files(draw: st.DrawFn) -> tuple[str, bytes]:
    """A .csv/.tsv of random shape (ragged rows, quotes, separators inside cells) or a .jsonl of random values."""
    suffix = draw(st.sampled_from((".csv", ".tsv", ".jsonl")))
    if suffix == ".jsonl":
        lines = draw(st.lists(st.one_of(st.dictionaries(COLUMNS, JSON_VALUES, max_size=4), JSON_VALUES), max_size=6))
        text = "\n".join(json.dumps(line) for line in lines)
    else:
        width = draw(st.integers(1, 4))
        header = draw(st.lists(COLUMNS, min_size=width, max_size=width))
        body = draw(st.lists(st.lists(CELLS, min_size=0, max_size=width + 1), max_size=6))
        text = _delimited([header, *body], "," if suffix == ".csv" else "\t")
    encoding = draw(st.sampled_from(("utf-8", "latin-1", "utf-16")))
    return suffix, text.encode(encoding, errors="replace")


@st.composite
def parquet_tables(draw: st.DrawFn) -> pa.Table:
    """A Parquet table with random column names and types, some of them the pool's expected names."""
    rows = draw(st.integers(0, 5))
    names = draw(st.lists(COLUMNS, min_size=1, max_size=4, unique=True))
    arrays = {}
    for name in names:
        arrow_type, values = draw(ARROW_COLUMNS)
        arrays[name] = pa.array(draw(st.lists(values, min_size=rows, max_size=rows)), type=arrow_type)
    return pa.table(arrays)


def _loads_or_refuses(path: Path) -> None:
    """The property, for both readers: the fixed schema, or the project's own error."""
    try:
        pool = load_pool("custom", path=path)
    except DataError:
        pass
    else:
        assert list(pool.columns) == ["text_a", "text_b"] and len(pool) > 0
        assert all(isinstance(v, str) and v.strip() for v in [*pool["text_a"], *pool["text_b"]])
    try:
        pairs = load_labelled_pairs(path)
    except DataError:
        pass
    else:
        assert len(pairs.sentences1) == len(pairs.sentences2) == len(pairs.scores) > 0


@PROPERTY
@given(suffix=st.sampled_from(SUFFIXES), content=st.binary(min_size=1, max_size=200))
def test_random_bytes_load_or_raise_data_error(tmp_path: Path, suffix: str, content: bytes) -> None:
    path = tmp_path / f"pairs{suffix}"
    path.write_bytes(content)
    _loads_or_refuses(path)


@PROPERTY
@given(file=text_files())
def test_random_delimited_and_json_lines_load_or_raise_data_error(tmp_path: Path, file: tuple[str, bytes]) -> None:
    suffix, content = file
    path = tmp_path / f"pairs{suffix}"
    path.write_bytes(content)
    if content:
        _loads_or_refuses(path)


@PROPERTY
@given(table=parquet_tables())
def test_random_parquet_schemas_load_or_raise_data_error(tmp_path: Path, table: pa.Table) -> None:
    path = tmp_path / "pairs.parquet"
    pq.write_table(table, path)
    _loads_or_refuses(path)


def test_a_latin_1_file_names_the_line_and_the_encoding_option_then_reads_with_it(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    path.write_bytes("sentence1,sentence2\nthe cafe opens,it is open\nthe café opens,it is open\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"pairs.csv, line 3: byte 'e9' is not utf-8 text .*--encoding latin-1"):
        load_pool("custom", path=path)
    assert load_pool("custom", path=path, encoding="latin-1")["text_a"].tolist()[1] == "the café opens"


def test_a_utf_8_byte_order_mark_is_not_part_of_the_first_column_name(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    path.write_bytes("\ufeffsentence1,sentence2\na,b\n".encode("utf-8"))
    assert load_pool("custom", path=path)["text_a"].tolist() == ["a"]
