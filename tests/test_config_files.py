"""Settings from a YAML file: --print-config writes what --config reads back to the same run; flags win; a bad
file is one line naming it."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from models.config import PipelineConfig
from pipeline import presets
from pipeline.cli import parse_config, settings_parser
from pipeline.presets import PRESET_DIR, PRESETS, REPOSITORY, all_presets
from pipeline.run import open_run, run_name_of, settings_digest


def printed_config(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as done:
        parse_config([*argv, "--print-config"], "test")
    assert done.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("argv", [[], ["--preset", "paper", "--cross-lr", "3e-5", "--no-reinit"]])
def test_printed_settings_read_back_to_the_same_run(argv: list[str], tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    original, original_args = parse_config(argv, "test")
    run_file = tmp_path / "run.yaml"
    run_file.write_text(printed_config(argv, capsys))
    again, again_args = parse_config(["--config", str(run_file)], "test")
    assert again == original and again_args.preset == original_args.preset
    assert run_name_of(again_args.preset, again) == run_name_of(original_args.preset, original)


def test_flags_override_the_file_and_yaml_numbers_are_typed(tmp_path: Path) -> None:
    run_file = tmp_path / "run.yaml"
    run_file.write_text("preset: paper\ncross-lr: 1e-4\ncycles: 2\nsymmetric: true\n")
    config, args = parse_config(["--config", str(run_file), "--cycles", "4"], "test")
    assert args.preset == "paper" and config.cross_lr == pytest.approx(1e-4) and isinstance(config.cross_lr, float)
    assert (config.cycles, config.symmetric, config.bi_epochs) == (4, True, 10)
    assert args.settings == {"cross_lr": 1e-4, "cycles": 4, "symmetric": True}


@pytest.mark.parametrize("text, expected", [
    ("cross_lrr: 1e-4\n", "unknown setting 'cross_lrr'"),
    ("cycles: two\n", "cycles: expected int, got 'two'"),
    ("symmetric: 1\n", "symmetric: expected bool, got 1"),
    ("- cycles\n", "expected a mapping of settings"),
    ("cycles: [1\n", "not valid YAML"),
])
def test_a_bad_file_is_one_usage_line_naming_it(text: str, expected: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    run_file = tmp_path / "run.yaml"
    run_file.write_text(text)
    with pytest.raises(SystemExit) as done:
        parse_config(["--config", str(run_file)], "test")
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert done.value.code == 2 and f"--config {run_file}" in error and expected in error, error


def test_run_name_names_the_folder_and_the_manifest_keeps_the_digest(tmp_path: Path) -> None:
    config, args = parse_config(["--preset", "paper", "--run-name", "tickets-v1", "--eval", "none"], "test")
    store, run_dir, manifest = open_run(args.preset, config, tmp_path, "test")
    assert run_dir == tmp_path / "tickets-v1"
    assert manifest.settings_digest == settings_digest(config.replace(run_name=None)) != ""
    assert run_name_of("paper", config.replace(run_name=None)) == f"paper-{manifest.settings_digest}"


@pytest.mark.parametrize("name", list(PRESETS))
def test_a_preset_is_a_settings_file_that_config_reads(name: str) -> None:
    """Over the reference values (`--preset paper`), or over the preset the file names."""
    path = PRESET_DIR / f"{name}.yaml"
    named_base = yaml.safe_load(path.read_text()).get("preset")
    base = [] if named_base else ["--preset", "paper"]
    own_file = ["--corpus-path", "texts.txt"] if PRESETS[name].pool == "corpus" else []
    from_file, args = parse_config(["--config", str(path), *base, *own_file], "test")
    assert from_file == PRESETS[name].replace(corpus_path=from_file.corpus_path)
    assert args.preset == (named_base or "paper")


def test_the_corpus_preset_is_the_cpu_preset_mining_with_lexical_neighbours_and_three_cross_epochs(
        capsys: pytest.CaptureFixture[str]) -> None:
    """A variant lists only what it changes: the cpu preset's own edits reach it, and the user's file stays theirs
    to name, in one line when left out."""
    changed = {name: value for name, value in PRESETS["corpus-cpu"].to_dict().items()
               if value != PRESETS["cpu"].to_dict()[name]}
    assert changed == {"pool": "corpus", "mine_lexical": 3, "cross_epochs": 3}
    with pytest.raises(SystemExit) as stopped:
        parse_config(["--preset", "corpus-cpu"], "test")
    assert stopped.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith("error: --pool corpus needs --corpus-path FILE (one text "
                                                              "per line in a .txt, or a .csv, .tsv, .parquet or .jsonl "
                                                              "with --text COLUMN)")
    config, args = parse_config(["--preset", "corpus-cpu", "--corpus-path", "tickets.txt"], "test")
    assert (config.corpus_path, args.preset) == ("tickets.txt", "corpus-cpu")


def test_help_and_the_deployments_describe_each_preset_from_its_file() -> None:
    """Times are read from the manifest a preset names, so no hand-written time can drift from it."""
    help_text = "".join(settings_parser("test").format_help().split())  # argparse wraps lines at hyphens too
    deployments = {d["parameters"]["preset"]: d["description"]
                   for d in yaml.safe_load((REPOSITORY / "prefect.yaml").read_text())["deployments"]}
    for name, found in all_presets().items():
        assert "".join(f"{name} = {found.summary}".split()) in help_text
        assert deployments.get(name, found.summary) == found.summary
        if found.measured_by:
            assert found.measured_minutes is not None, f"{name}: {found.measured_by} is missing"


def test_a_preset_over_another_takes_its_base_settings_and_a_loop_is_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(presets, "PRESET_DIR", tmp_path)
    (tmp_path / "base.yaml").write_text("cross_lr: 1.0e-4\nmax_pairs: 500\n")
    (tmp_path / "variant.yaml").write_text("preset: base\nmax_pairs: 900\n")
    variant = presets._load(tmp_path / "variant.yaml").config
    assert (variant.cross_lr, variant.max_pairs, variant.cycles) == (1.0e-4, 900, PipelineConfig().cycles)
    (tmp_path / "first.yaml").write_text("preset: second\n")
    (tmp_path / "second.yaml").write_text("preset: first\n")
    for name in ("first", "missing"):
        (tmp_path / "loop.yaml").write_text(f"preset: {name}\n")
        with pytest.raises(ValueError, match=f"starts from preset '{name}', which is not another file"):
            presets._load(tmp_path / "loop.yaml")
