"""Data layer: benchmark counts and quirks on the real STS folder, pools, and clear errors."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.data import POOLS, TEST_SETS, DataError, LabelledPairs, load_pool, load_stsb_dev, load_test_sets
from models.data.sts import load_test_set

EXPECTED_TEST_ROWS = {
    "STS12": 3108,
    "STS13": 1500,
    "STS14": 3750,
    "STS15": 3000,
    "STS16": 1186,
    "STSBenchmark": 1379,
    "SICKRelatedness": 4927,
}
EXPECTED_POOL_ROWS = {"stsb": 8628, "sts": 27237, "sickr": 9840, "sts_sickr": 37077}


@pytest.fixture(scope="module")
def test_sets(sts_dir: Path) -> dict[str, LabelledPairs]:
    return load_test_sets(sts_dir)


@pytest.fixture(scope="module")
def pools(sts_dir: Path) -> dict[str, pd.DataFrame]:
    return {name: load_pool(name, sts_dir) for name in EXPECTED_POOL_ROWS}


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- benchmarks on the real folder -------------------------------------------------------


def test_test_sets_have_expected_rows_in_order(test_sets: dict[str, LabelledPairs]) -> None:
    assert tuple(test_sets) == TEST_SETS
    assert {name: len(pairs) for name, pairs in test_sets.items()} == EXPECTED_TEST_ROWS
    for pairs in test_sets.values():
        assert len(pairs.sentences1) == len(pairs.sentences2) == len(pairs.scores)
        assert pairs.scores.dtype == np.float64


def test_stsb_dev(sts_dir: Path) -> None:
    dev = load_stsb_dev(sts_dir)
    assert dev.name == "STSBenchmark-dev"
    assert len(dev) == 1500
    assert dev.scores.min() >= 0.0 and dev.scores.max() <= 5.0


def test_scores_in_range(test_sets: dict[str, LabelledPairs]) -> None:
    for name, pairs in test_sets.items():
        low = 1.0 if name == "SICKRelatedness" else 0.0
        assert pairs.scores.min() >= low and pairs.scores.max() <= 5.0, name
        assert not np.isnan(pairs.scores).any(), name


def test_stsb_double_quotes_read_whole(test_sets: dict[str, LabelledPairs]) -> None:
    stsb = test_sets["STSBenchmark"]
    # Line 899 of sts-test.csv opens with a double quote that csv quoting would swallow.
    assert stsb.sentences1[898] == "\"Tony's not feeling well,\" Spurs coach Gregg Popovich said."
    assert stsb.sentences2[898].startswith("We're thrilled to be up 3-2")
    assert stsb.scores[898] == pytest.approx(1.6)


def test_sick_crlf_stripped(test_sets: dict[str, LabelledPairs]) -> None:
    sick = test_sets["SICKRelatedness"]
    assert not any("\r" in s for s in sick.sentences1 + sick.sentences2)


def test_sts16_takes_first_two_columns(test_sets: dict[str, LabelledPairs]) -> None:
    sts16 = test_sets["STS16"]
    assert not any("\t" in s for s in sts16.sentences1 + sts16.sentences2)
    assert not any("Europe Media Monitor" in s for s in sts16.sentences2)


def test_load_one_test_set(sts_dir: Path) -> None:
    assert len(load_test_set(sts_dir, "STS13")) == 1500


# --- pools on the real folder ------------------------------------------------------------


def test_pool_counts_and_columns(pools: dict[str, pd.DataFrame]) -> None:
    assert {name: len(frame) for name, frame in pools.items()} == EXPECTED_POOL_ROWS
    for frame in pools.values():
        assert list(frame.columns) == ["text_a", "text_b"]
        assert all(pd.api.types.is_string_dtype(dtype) for dtype in frame.dtypes)
        assert list(frame.index) == list(range(len(frame)))


def test_sts_sickr_is_sts_then_sickr(pools: dict[str, pd.DataFrame]) -> None:
    combined = pools["sts_sickr"]
    assert combined.iloc[: len(pools["sts"])].equals(pools["sts"])
    assert combined.iloc[len(pools["sts"]) :].reset_index(drop=True).equals(pools["sickr"])


def test_pools_list() -> None:
    assert POOLS == ("stsb", "sts", "sickr", "sts_sickr", "custom")


# --- custom pools ------------------------------------------------------------------------

CUSTOM = pd.DataFrame(
    {
        "first": ["A man plays.", 'She said "hi', "NA"],
        "second": ["Someone plays.", "null", "A dog runs."],
        "label": [4.5, 2.0, 0.0],
    }
)


def _write_custom(path: Path, frame: pd.DataFrame = CUSTOM) -> Path:
    suffix = path.suffix
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".tsv":
        _write(path, "\n".join("\t".join(map(str, row)) for row in [frame.columns, *frame.values.tolist()]) + "\n")
    elif suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif suffix == ".jsonl":
        _write(path, "".join(json.dumps(record) + "\n" for record in frame.to_dict("records")))
    return path


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet", ".jsonl"])
def test_custom_pool_formats(tmp_path: Path, suffix: str) -> None:
    path = _write_custom(tmp_path / f"pairs{suffix}")
    pool = load_pool("custom", path=path, text_a="first", text_b="second")
    assert list(pool.columns) == ["text_a", "text_b"]
    assert pool["text_a"].tolist() == ["A man plays.", 'She said "hi', "NA"]
    assert pool["text_b"].tolist() == ["Someone plays.", "null", "A dog runs."]


def test_custom_pool_default_columns(tmp_path: Path) -> None:
    frame = CUSTOM.rename(columns={"first": "sentence1", "second": "sentence2"})
    pool = load_pool("custom", path=_write_custom(tmp_path / "pairs.csv", frame))
    assert len(pool) == 3


# --- errors ------------------------------------------------------------------------------


def test_missing_data_dir(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError, match="STS_DATA_DIR") as info:
        load_test_sets(missing)
    assert str(missing) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    (tmp_path / "stsb").mkdir()
    with pytest.raises(DataError, match="sts-dev.csv") as info:
        load_stsb_dev(tmp_path)
    assert "--data-dir" in str(info.value)


def test_malformed_stsb_line(tmp_path: Path) -> None:
    good = "g\tf\t2012\t1\t3.0\tA cat.\tA kitten.\n"
    _write(tmp_path / "stsb" / "sts-dev.csv", good + good + "g\tf\t2012\t3\t3.0\n")
    with pytest.raises(DataError, match=r"sts-dev\.csv, line 3"):
        load_stsb_dev(tmp_path)


def test_bad_gold_score(tmp_path: Path) -> None:
    _write(tmp_path / "sts13" / "STS.input.x.txt", "a\tb\nc\td\n")
    _write(tmp_path / "sts13" / "STS.gs.x.txt", "1.0\nfive\n")
    with pytest.raises(DataError, match=r"STS\.gs\.x\.txt, line 2"):
        load_test_set(tmp_path, "STS13")


def test_misaligned_gold(tmp_path: Path) -> None:
    _write(tmp_path / "sts13" / "STS.input.x.txt", "a\tb\nc\td\n")
    _write(tmp_path / "sts13" / "STS.gs.x.txt", "1.0\n")
    with pytest.raises(DataError, match="align"):
        load_test_set(tmp_path, "STS13")


def test_year_subsets_sorted_case_insensitively_and_unscored_dropped(tmp_path: Path) -> None:
    _write(tmp_path / "sts15" / "STS.input.b.txt", "b1\tb2\nb3\tb4\n")
    _write(tmp_path / "sts15" / "STS.gs.b.txt", "2\n\n")
    _write(tmp_path / "sts15" / "STS.input.A.txt", "a1\ta2\n")
    _write(tmp_path / "sts15" / "STS.gs.A.txt", "1\n")
    pairs = load_test_set(tmp_path, "STS15")
    assert pairs.sentences1 == ["a1", "b1"]
    assert pairs.scores.tolist() == [1.0, 2.0]


def test_unknown_test_set(sts_dir: Path) -> None:
    with pytest.raises(DataError, match="STS12"):
        load_test_set(sts_dir, "STS17")


def test_unknown_pool() -> None:
    with pytest.raises(DataError, match="sts_sickr"):
        load_pool("wiki")


def test_custom_without_path() -> None:
    with pytest.raises(DataError, match="path"):
        load_pool("custom")


def test_custom_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="absent.csv"):
        load_pool("custom", path=tmp_path / "absent.csv")


def test_custom_unsupported_suffix(tmp_path: Path) -> None:
    path = _write(tmp_path / "pairs.xlsx", "x")
    with pytest.raises(DataError, match=r"\.xlsx") as info:
        load_pool("custom", path=path)
    assert all(suffix in str(info.value) for suffix in (".csv", ".tsv", ".parquet", ".jsonl"))


def test_custom_missing_column(tmp_path: Path) -> None:
    path = _write_custom(tmp_path / "pairs.csv")
    with pytest.raises(DataError) as info:
        load_pool("custom", path=path, text_a="first", text_b="sentence2")
    message = str(info.value)
    assert all(part in message for part in ("pairs.csv", "'sentence2'", "first", "second", "label", "--text-b"))


def test_custom_rows_without_text_are_dropped_and_counted_or_strict_errors(tmp_path: Path) -> None:
    path = _write(tmp_path / "pairs.csv", "sentence1,sentence2\nA cat.,A kitten.\nA dog.,\n,A bird.\nA kitten.,A cat.\n"
                                          "A cow.,A calf.\nA cat.,A kitten.\n")
    pool = load_pool("custom", path=path)
    assert pool.values.tolist() == [["A cat.", "A kitten."], ["A cow.", "A calf."]]
    assert pool.attrs["tidy"] == {"dropped_empty": 2, "first_dropped_rows": [2, 3], "duplicates": 2}
    with pytest.raises(DataError, match=r"pairs\.csv, data row 2: column 'sentence2'"):
        load_pool("custom", path=path, strict=True)


def test_custom_non_string_text_leaves_no_usable_pair(tmp_path: Path) -> None:
    path = _write(tmp_path / "pairs.jsonl", '{"sentence1": "A cat.", "sentence2": 3}\n')
    with pytest.raises(DataError, match=r"pairs\.jsonl: no usable pair"):
        load_pool("custom", path=path)
    with pytest.raises(DataError, match=r"pairs\.jsonl, data row 1: column 'sentence2'"):
        load_pool("custom", path=path, strict=True)


def test_custom_non_string_parquet(tmp_path: Path) -> None:
    path = tmp_path / "pairs.parquet"
    pd.DataFrame({"sentence1": ["A cat.", None], "sentence2": ["A kitten.", "A dog."]}).to_parquet(path)
    with pytest.raises(DataError, match=r"pairs\.parquet, data row 2"):
        load_pool("custom", path=path, strict=True)
    assert load_pool("custom", path=path).attrs["tidy"]["first_dropped_rows"] == [2]


def test_custom_bad_json_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "pairs.jsonl", '{"sentence1": "a", "sentence2": "b"}\n{oops\n')
    with pytest.raises(DataError, match=r"pairs\.jsonl, line 2"):
        load_pool("custom", path=path)


@pytest.mark.parametrize("text", ["", "sentence1,sentence2\n"])
def test_custom_empty_file(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path / "pairs.csv", text)
    with pytest.raises(DataError, match=r"pairs\.csv .*(empty|no rows)"):
        load_pool("custom", path=path)
