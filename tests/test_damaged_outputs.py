"""Bytes that changed are never used: one byte flipped in, or a truncation of, a stored Parquet label file or a
model's `model.safetensors` makes the next run compute that stage again (and only it: later stages key on its key,
not its bytes), saying so in one line; `--plan` names the damage as the reason."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pytest

from flows.plain import run_plain
from models.config import PipelineConfig
from pipeline.run import plan_run

pytestmark = pytest.mark.slow  # a whole tiny run, then one rerun per damage

TINY = dict(pool="stsb", max_pairs=48, warmup="none", cycles=1, max_steps=2, bi_batch_size=16, cross_batch_size=16,
            eval="none", device="cpu")


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.fixture(scope="module")
def finished_run(tiny_model_dir: Path, mini_sts_dir: Path, tmp_path_factory: pytest.TempPathFactory
                 ) -> tuple[PipelineConfig, Path]:
    config = PipelineConfig(model=str(tiny_model_dir), data_dir=str(mini_sts_dir), **TINY)
    out = tmp_path_factory.mktemp("runs")
    run_plain("paper", config, out)
    return config, out


def statuses(run_dir: Path) -> dict[str, str]:
    return {entry["title"]: entry["status"] for entry in json.loads((run_dir / "manifest.json").read_text())["entries"]}


@pytest.mark.parametrize("damage", [flip_a_byte, truncate], ids=["one byte flipped", "truncated"])
@pytest.mark.parametrize("stage, stored_file", [("bi-labels", "{key}.parquet"), ("cross", "{key}/model.safetensors")],
                         ids=["label parquet", "model safetensors"])
def test_a_changed_output_is_computed_again_and_said_in_one_line(
        finished_run: tuple[PipelineConfig, Path], stage: str, stored_file: str, damage: Callable[[Path], None],
        capsys: pytest.CaptureFixture[str]) -> None:
    config, out = finished_run
    key_path = next((out / "store" / stage).glob("*.key.json"))
    output = key_path.with_name(key_path.name.removesuffix(".key.json"))
    damage(output.parent / stored_file.format(key=output.name.split(".")[0]))

    damaged = [row for row in plan_run("paper", config, out) if row.status == "will run"]
    assert len(damaged) == 1 and damaged[0].stage == stage, [(row.title, row.status) for row in damaged]
    assert damaged[0].reason == "stored output changed since it was stored (its sha256 no longer matches its record)"

    capsys.readouterr()
    rerun = run_plain("paper", config, out)
    said = [line for line in capsys.readouterr().out.splitlines() if "its stored output" in line]
    assert said == [f"{damaged[0].title}: its stored output {output} changed since it was stored (its sha256 no "
                     "longer matches its record); running it again"]
    ran = {title for title, status in statuses(Path(rerun["run_dir"])).items() if status == "ran"}
    assert ran == {damaged[0].title}, "only the damaged stage runs again; the stages after it key on its key"
    assert all(row.status == "cached" for row in plan_run("paper", config, out)), "the store is whole again"
