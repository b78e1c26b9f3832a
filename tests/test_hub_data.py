"""With no STS folder the benchmarks and the built-in pools come from the mteb datasets on the hub, read here from
a local copy in the hub's own layout (TRANS_ENCODER_HUB_MIRROR), so no test needs a network."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import pytest

from models.config import PipelineConfig
from models.data import (
    BUILT_IN_POOLS,
    HUB_MIRROR_ENV,
    TEST_SETS,
    DataError,
    load_pool,
    load_stsb_dev,
    load_test_sets,
    pool_origin_note,
    with_evaluation,
)
from models.data.hub import HUB_TEST_SETS, load_stsb_dev_from_hub, load_test_sets_from_hub
from pipeline.executor import data_identity
from pipeline.keys import key_parts
from pipeline.stage import StageParams
from tests.hub_mirror import build_hub_mirror, folder_splits

# The built-in pools as the hub holds them: STS15/16 without their unscored rows, SICK as mteb's 9,927 pairs.
HUB_POOL_ROWS = {"stsb": 8628, "sts": 13879, "sickr": 9927, "sts_sickr": 23806}


@pytest.fixture(scope="module")
def hub_mirror_dir(sts_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_hub_mirror(sts_dir, tmp_path_factory.mktemp("hub-mirror"))


@pytest.fixture
def mirror(hub_mirror_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The mirror set, and no STS folder."""
    monkeypatch.setenv(HUB_MIRROR_ENV, str(hub_mirror_dir))
    monkeypatch.delenv("STS_DATA_DIR", raising=False)
    yield hub_mirror_dir


def test_every_benchmark_from_the_mirror_has_the_folders_schema_and_rows(sts_dir: Path, mirror: Path) -> None:
    from_folder, from_hub = load_test_sets(sts_dir), load_test_sets_from_hub()
    assert tuple(from_hub) == TEST_SETS
    sick = folder_splits(sts_dir)[HUB_TEST_SETS["SICKRelatedness"]]
    for name in TEST_SETS:
        expected = sick if name == "SICKRelatedness" else from_folder[name]  # mteb's SICK-R: all 9,927 pairs
        pairs = from_hub[name]
        assert pairs.name == name and len(pairs) == len(expected), name
        assert pairs.sentences1 == expected.sentences1 and pairs.sentences2 == expected.sentences2, name
        assert pairs.scores.dtype == np.float64 and np.allclose(pairs.scores, expected.scores), name
    dev, folder_dev = load_stsb_dev_from_hub(), load_stsb_dev(sts_dir)
    assert (dev.name, len(dev), dev.sentences1) == (folder_dev.name, 1500, folder_dev.sentences1)


@pytest.mark.parametrize("name", BUILT_IN_POOLS)
def test_each_built_in_pool_from_the_mirror_has_its_count_and_the_pool_schema(name: str, mirror: Path) -> None:
    pool = load_pool(name)
    assert len(pool) == HUB_POOL_ROWS[name]
    assert list(pool.columns) == ["text_a", "text_b"]
    assert all(pd.api.types.is_string_dtype(pool[column]) for column in pool.columns)
    assert pool.map(lambda text: isinstance(text, str)).all().all()
    assert pool_origin_note(pool, name) == (f"pool {name!r}: {HUB_POOL_ROWS[name]:,} pairs from the hub mirror "
                                            f"{mirror} ({HUB_MIRROR_ENV})")


def test_the_hub_pool_follows_the_folders_deduplication(sts_dir: Path, mirror: Path) -> None:
    """sts dedupes on the ordered pair (so it has no repeat), sts_sickr is sts then sickr as they are."""
    sts, sickr = load_pool("sts"), load_pool("sickr")
    assert not sts.duplicated().any()
    assert load_pool("sts_sickr").equals(pd.concat([sts, sickr], ignore_index=True))
    assert load_pool("stsb", sts_dir).equals(load_pool("stsb"))


def test_a_mirror_without_a_dataset_names_the_folder_to_fill(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HUB_MIRROR_ENV, str(tmp_path))
    with pytest.raises(DataError, match="no folder mteb/stsbenchmark-sts; download"):
        load_pool("stsb")


def test_no_folder_runs_score_the_benchmarks_when_the_pool_comes_from_the_hub(mirror: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    assert with_evaluation(PipelineConfig()).eval == "sts"
    monkeypatch.delenv(HUB_MIRROR_ENV)
    assert with_evaluation(PipelineConfig(pool="custom", pool_path="pairs.csv")).eval == "none"


def _pool_key(config: PipelineConfig) -> str:
    return key_parts("pool", config, {}, StageParams(), None, data_identity(config)).key


def test_the_pool_key_follows_the_data_source(sts_dir: Path, mirror: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Folder and hub are keyed by content: the same settings from either source, or from a mirror holding other
    rows, are different pool stages."""
    config = PipelineConfig(pool="stsb", eval="none")
    from_mirror = _pool_key(config)
    assert from_mirror != _pool_key(config.replace(data_dir=str(sts_dir)))
    assert data_identity(config).startswith("hub:")
    other = build_hub_mirror(sts_dir, tmp_path / "other")
    train = other / "mteb" / "stsbenchmark-sts" / "train.jsonl.gz"
    train.write_bytes(next(other.rglob("test.jsonl.gz")).read_bytes())
    monkeypatch.setenv(HUB_MIRROR_ENV, str(other))
    assert _pool_key(config) != from_mirror


def test_offline_with_no_folder_the_real_cli_says_what_to_pass_in_one_line() -> None:
    """`python -m flows.full_cycle` offline with no STS folder or mirror: one line, exit 2, before any work."""
    from benchmarks.bad_inputs import CASES, run_case

    case = next(case for case in CASES if case.name.startswith("the default pool offline"))
    flags, code, stderr = run_case(case)
    assert (code, len(stderr.splitlines())) == (2, 1), stderr
    assert stderr.startswith("error: pool 'sts_sickr' and the STS benchmarks come from an STS data folder or the "
                             "Hugging Face hub")
    assert all(option in stderr for option in ("--data-dir", "STS_DATA_DIR", HUB_MIRROR_ENV, "--pool custom",
                                               "--pool-path", "--dev-pairs"))
    assert run_case(case, in_process=True) == (flags, code, stderr)
