"""Cache keys: derived from the code a stage can reach and the settings it declares, so an edit or a new
library version is never served an older output, and an unrelated edit reruns nothing."""
from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import pipeline.code_identity as code_identity
from models.config import PipelineConfig
from pipeline.code_identity import reachable_modules
from pipeline.keys import NOT_IN_KEYS
from pipeline.registry import STAGES
from pipeline.stage import Kind
from tests.conftest import REPO_ROOT

SOURCE_FOLDERS = ("artifacts", "benchmarks", "flows", "models", "pipeline", "tasks", "tests")

PLAN_KEYS = """
import json, sys
from pathlib import Path
import pipeline
from models.config import PipelineConfig
from pipeline.run import plan_run
assert Path(pipeline.__file__).resolve().parent.parent == Path.cwd().resolve(), pipeline.__file__
config = PipelineConfig(**json.loads(sys.argv[1]))
print(json.dumps({stage.title: [stage.stage, stage.key] for stage in plan_run("paper", config, Path(sys.argv[2]))}))
"""


def test_every_setting_is_in_a_stage_key_or_declared_result_free() -> None:
    fields = {field.name for field in dataclasses.fields(PipelineConfig)}
    keyed = {name for stage in STAGES.values() for name in stage.settings}
    assert keyed <= fields, f"stages declare settings PipelineConfig lacks: {keyed - fields}"
    assert set(NOT_IN_KEYS) <= fields, f"NOT_IN_KEYS names no field: {set(NOT_IN_KEYS) - fields}"
    assert not keyed & set(NOT_IN_KEYS), f"both keyed and declared result-free: {keyed & set(NOT_IN_KEYS)}"
    assert fields - keyed - set(NOT_IN_KEYS) == set(), \
        "each new setting must be read by a stage's key (its STAGE settings) or listed in pipeline.keys.NOT_IN_KEYS"


def test_reach_follows_relative_lazy_and_package_imports(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    files = {"__init__.py": "", "a.py": "from .b import helper\n", "b.py": "def helper():\n    import pkg.c\n",
             "c.py": "from pkg import sub\nimport numpy\n", "sub.py": "", "unused.py": "import pkg.a\n"}
    for name, text in files.items():
        (package / name).write_text(text)
    assert reachable_modules("pkg.a", tmp_path) == {"pkg", "pkg.a", "pkg.b", "pkg.c", "pkg.sub"}


def test_library_versions_are_part_of_the_code_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    digest = code_identity.code_digest.__wrapped__  # uncached
    before = digest("pipeline.stages.pool")
    monkeypatch.setattr(code_identity, "library_versions", lambda: {"torch": "0.0.1", "transformers": "0",
                                                                     "tokenizers": "0"})
    assert digest("pipeline.stages.pool") != before


def test_only_data_free_stages_stay_clear_of_the_encoders() -> None:
    """The reach is per stage, not the whole repository: combining stored labels loads no model code."""
    for stage in STAGES.values():
        reaches = "models.encoders.batching" in reachable_modules(stage.module)
        assert reaches == (stage.kind not in (Kind.DATA, Kind.COMBINING)), stage.name


def _plan_keys(repo: Path, settings: dict[str, object], out: Path) -> dict[str, list[str]]:
    done = subprocess.run([sys.executable, "-c", PLAN_KEYS, json.dumps(settings), str(out)], cwd=repo,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_an_edit_reruns_what_reaches_it_and_what_follows(tiny_model_dir: Path, mini_sts_dir: Path,
                                                          tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    for folder in SOURCE_FOLDERS:
        shutil.copytree(REPO_ROOT / folder, repo / folder, ignore=shutil.ignore_patterns("__pycache__"))
    settings = {"model": str(tiny_model_dir), "data_dir": str(mini_sts_dir), "pool": "stsb", "max_pairs": 48,
                "cycles": 2, "device": "cpu", "bi_batch_size": 16, "cross_batch_size": 16,
                "warmup_batch_size": 16}
    out = tmp_path / "runs"
    before = _plan_keys(repo, settings, out)
    corpus_mode = {"corpus", "corpus-embeddings", "neighbours", "mine"}  # tests/test_corpus.py plans those
    assert {stage for stage, _ in before.values()} == set(STAGES) - {"merge-labels", "ensemble-scores",
                                                                     "retrieval-scores"} - corpus_mode

    def edited(module: str) -> dict[str, list[str]]:
        path = repo / (module.replace(".", "/") + ".py")
        original = path.read_text()
        path.write_text(original + "\n# an edit\n")
        try:
            return _plan_keys(repo, settings, out)
        finally:
            path.write_text(original)

    assert edited("benchmarks.results") == before, "no stage reaches the benchmarks"

    after = edited("models.encoders.batching")
    changed = {title for title in before if after[title][1] != before[title][1]}
    assert changed == {title for title, (stage, _) in before.items() if stage != "pool"}, \
        "every stage that encodes text, and everything after the first of them, gets a new key"

    after = edited("models.training.labels")
    changed = {title for title in before if after[title][1] != before[title][1]}
    unchanged = {title for title, (stage, _) in before.items() if title not in changed}
    assert {before[title][0] for title in unchanged} == {"pool", "warmup", "scores"}, unchanged
    assert any(title.startswith("cycle 1: bi-labels") for title in changed)
    assert any(title.startswith("warm-up: scores bi") for title in unchanged)
