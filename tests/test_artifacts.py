"""Artifacts: atomic writes, fixed Parquet schemas, digests that catch corruption, content addresses."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from artifacts.atomic import atomic_path
from artifacts.pairs import (
    SchemaError,
    read_labelled,
    read_mined_pool,
    read_pool,
    write_labelled,
    write_mined_pool,
    write_pool,
)
from artifacts.store import Store, stage_key

POOL = pd.DataFrame({"text_a": ["a cat", "a dog"], "text_b": ["a kitten", "a puppy"]})


def test_failed_write_leaves_the_old_artifact_and_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "model"
    with atomic_path(target, is_dir=True) as temp:
        (temp / "weights").write_text("v1")
    with pytest.raises(RuntimeError):
        with atomic_path(target, is_dir=True) as temp:
            (temp / "weights").write_text("half of v2")
            raise RuntimeError("crash mid-write")
    assert (target / "weights").read_text() == "v1"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_labelled_pairs_round_trip_with_fixed_schema(tmp_path: Path) -> None:
    path = write_labelled(tmp_path / "labels.parquet", POOL, np.array([0.25, -0.5]), "bi-encoder", 2, "raw")
    frame = read_labelled(path)
    assert list(frame.columns) == ["text_a", "text_b", "label", "labelled_by", "cycle", "label_transform"]
    assert frame["label"].tolist() == [0.25, -0.5] and set(frame["cycle"]) == {2}
    pd.testing.assert_frame_equal(read_pool(write_pool(tmp_path / "pool.parquet", POOL)), POOL)


def test_mined_pools_read_with_their_source_also_when_written_before_sources(tmp_path: Path) -> None:
    mined = POOL.assign(source=["lexical", "random"], rank=np.array([2, 0], np.int16),
                        cosine=np.array([0.5, 0.1], np.float32))
    pd.testing.assert_frame_equal(read_mined_pool(write_mined_pool(tmp_path / "new.parquet", mined, {})), mined)
    old = tmp_path / "old.parquet"  # rank and cosine, no source column
    before = pa.schema([("text_a", pa.string()), ("text_b", pa.string()), ("rank", pa.int16()),
                        ("cosine", pa.float32())])
    pq.write_table(pa.Table.from_pandas(mined.drop(columns="source"), schema=before, preserve_index=False), old)
    assert read_mined_pool(old)["source"].tolist() == ["neighbour", "random"]  # derived from the rank
    for path in (old, tmp_path / "new.parquet"):
        pd.testing.assert_frame_equal(read_pool(path), POOL)


def test_a_parquet_file_of_another_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "labels.parquet"
    pq.write_table(pa.table({"text_a": ["a"], "text_b": ["b"], "score": [1.0]}), path)
    with pytest.raises(SchemaError, match="labels.parquet has columns"):
        read_labelled(path)


def test_store_detects_a_changed_artifact(tmp_path: Path) -> None:
    store = Store(tmp_path)
    path = write_pool(store.path("pool", "abc", ".parquet"), POOL)
    sealed = Store.seal(path)
    assert Store.verified(path) == sealed
    path.write_bytes(path.read_bytes() + b"x")
    assert Store.verified(path) is None
    assert Store.verified(store.path("pool", "missing", ".parquet")) is None


def test_stage_keys_change_with_code_inputs_and_settings() -> None:
    base = stage_key("cross", "code1", {"labels": "h1"}, {"lr": 2e-5})
    assert base == stage_key("cross", "code1", {"labels": "h1"}, {"lr": 2e-5})
    assert len({base, stage_key("cross", "code2", {"labels": "h1"}, {"lr": 2e-5}),
                stage_key("cross", "code1", {"labels": "h2"}, {"lr": 2e-5}),
                stage_key("cross", "code1", {"labels": "h1"}, {"lr": 3e-5})}) == 4


def test_a_manifest_commit_says_when_the_code_differed_from_it(tmp_path: Path) -> None:
    import subprocess

    from artifacts.manifest import git_commit

    assert git_commit(tmp_path) == "unknown"
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True,
                              text=True).stdout.strip()

    git("init", "-q")
    (tmp_path / "stage.py").write_text("LR = 1e-4\n")
    git("add", "stage.py")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one")
    head = git("rev-parse", "--short", "HEAD")
    (tmp_path / "notes.txt").write_text("untracked files are not the run's code")
    assert git_commit(tmp_path) == head
    (tmp_path / "stage.py").write_text("LR = 2e-4\n")
    assert git_commit(tmp_path) == f"{head}+dirty"
