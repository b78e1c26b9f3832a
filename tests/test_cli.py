"""The command line lists every setting and rejects bad ones by name before any work starts."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from models.config import PipelineConfig
from pipeline.cli import parse_config
from tests.conftest import REPO_ROOT


def test_help_lists_every_setting(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_config(["--help"], "test")
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for field in ("preset", "out", *(f.name for f in dataclasses.fields(PipelineConfig))):
        assert f"--{field.replace('_', '-')}" in text


def test_flags_override_the_preset() -> None:
    config, _ = parse_config(["--preset", "paper", "--cycles", "2", "--no-reinit", "--symmetric",
                              "--max-steps", "5"], "test")
    chosen = (config.cycles, config.reinit, config.symmetric, config.max_steps, config.bi_epochs)
    assert chosen == (2, False, True, 5, 10)


@pytest.mark.parametrize("argv, named", [(["--warmup", "bert"], "--warmup"), (["--cycles", "0"], "--cycles"),
                                         (["--pool", "custom"], "--pool-path"), (["--max-pairs", "-3"], "--max-pairs")])
def test_bad_settings_fail_naming_the_parameter(argv: list[str], named: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_config(argv, "test")
    assert named in capsys.readouterr().err


def test_int8_labelling_on_a_gpu_is_refused_in_one_line_not_ignored(capsys: pytest.CaptureFixture[str]) -> None:
    """It would change the labelling stages' keys and nothing else: int8 dynamic quantisation runs on CPU only."""
    with pytest.raises(SystemExit) as exit_info:
        parse_config(["--label-int8", "--device", "cuda:1"], "test", prog="train")
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "train: error: --label-int8 labels on CPU only, and --device cuda:1 labels on a GPU; drop --label-int8, or "
        "pass --device cpu")
    assert parse_config(["--label-int8", "--device", "cpu"], "test")[0].label_int8


def test_a_model_not_installed_fails_in_one_line_with_the_install_command(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TE_MODELS_DIR", str(tmp_path))
    with pytest.raises(SystemExit) as exit_info:
        parse_config(["--preset", "paper", "--labellers", "mpnet-base"], "test")
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "'mpnet-base' is not installed" in error and "`make models`" in error


def test_help_shows_the_chosen_presets_values_choices_and_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_config(["--preset", "paper", "--help"], "test")
    text = " ".join(capsys.readouterr().out.split())
    assert "[paper: 10]" in text and "[paper: mirror]" in text, "bi epochs and warm-up under the paper preset"
    assert "--warmup {mirror,simcse,isbert,none}" in text and "--label-transform {raw,clip,minmax}" in text
    assert "(default: None)" not in text
    assert "examples:" in text and "trans-encoder evaluate" in text


def test_a_bad_pair_file_ends_the_flow_command_with_one_line_and_exit_2(tmp_path: Path) -> None:
    import subprocess
    import sys

    bad = tmp_path / "tickets.csv"
    bad.write_text("question,answer\nwhere is my order,\n")
    done = subprocess.run([sys.executable, "-m", "flows.full_cycle", "--pool", "custom", "--pool-path", str(bad),
                           "--text-a", "question", "--text-b", "answer", "--labellers", "", "--device", "cpu",
                           "--out", str(tmp_path)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"error: {bad}: no usable pair: every row has an empty or non-text "
                                                "'question' or 'answer'"]
    assert "Traceback" not in done.stdout + done.stderr and not (tmp_path / "store").exists()


def test_an_unexpected_error_keeps_its_traceback_and_says_how_to_resume(
        tiny_model_dir: Path, sts_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from flows.plain import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--model", str(tiny_model_dir), "--labellers", "", "--pool", "stsb", "--data-dir", str(sts_dir),
              "--max-pairs", "48", "--bi-batch-size", "16", "--warmup", "mirror", "--warmup-lr", "nan",
              "--eval", "none", "--device", "cpu", "--out", str(tmp_path)])
    assert exit_info.value.code == 1
    error = capsys.readouterr().err
    assert "Traceback" in error and "Invalid learning rate" in error
    assert f"Finished stages are kept under {tmp_path / 'store'}; rerun the command" in error


def test_every_known_bad_input_ends_in_one_or_two_lines_with_exit_2_and_no_traceback_as_the_doc_shows() -> None:
    """benchmarks/bad_inputs.py's cases through the CLI's `main` offline, each printing today what its row of
    docs/BAD_INPUTS.md says (so the doc cannot drift); the first, a usage error and an `evaluate` case also as a real
    process, so the
    in-process call is known to show what the user sees."""
    from benchmarks.bad_inputs import CASES, run_case, table_row

    usage_error = next(case for case in CASES if case.name == "unknown choice")
    evaluate = next(case for case in CASES if case.command == "evaluate")
    for case in (CASES[0], usage_error, evaluate):
        assert run_case(case) == run_case(case, in_process=True), case.name
    documented = [line for line in (REPO_ROOT / "docs" / "BAD_INPUTS.md").read_text().splitlines()
                  if line.startswith("| ") and not line.startswith("| case |")]
    assert len(documented) == len(CASES), "docs/BAD_INPUTS.md has one row per case: `python -m benchmarks.bad_inputs`"
    for case, row in zip(CASES, documented):
        flags, code, stderr = run_case(case, in_process=True)
        assert code == 2, f"{case.name}: exit {code}\n{stderr}"
        assert "Traceback" not in stderr and 1 <= len(stderr.splitlines()) <= 2, f"{case.name}:\n{stderr}"
        assert "error: " in stderr, case.name
        assert table_row(case, flags, code, stderr) == row, "stale doc: run `python -m benchmarks.bad_inputs`"


def test_score_and_evaluate_take_the_precision_and_refuse_a_gpu_one_on_cpu_in_one_line(
        tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import pandas as pd

    from flows.evaluate import main as evaluate_main
    from flows.score import main as score_main

    pairs = tmp_path / "pairs.csv"
    pd.DataFrame({"sentence1": ["a cat sat", "rain today"], "sentence2": ["a cat sits", "sunny skies"],
                  "label": [1, 0]}).to_csv(pairs, index=False)
    model = [str(tiny_model_dir), str(pairs)]
    for precision in ("auto", "fp32"):  # on CPU both compute in fp32
        score_main([*model, "--device", "cpu", "--precision", precision, "--out", str(tmp_path / f"{precision}.pq")])
    assert pd.read_parquet(tmp_path / "auto.pq").equals(pd.read_parquet(tmp_path / "fp32.pq"))
    capsys.readouterr()
    own_pairs = [str(tiny_model_dir), "--pairs", str(pairs), "--skip-sts"]
    for main, argv in ((score_main, model), (evaluate_main, own_pairs)):
        with pytest.raises(SystemExit) as exit_info:
            main([*argv, "--device", "cpu", "--precision", "bf16", "--out", str(tmp_path / "never")])
        assert exit_info.value.code == 2
        assert capsys.readouterr().err.strip().splitlines() == [
            "error: --precision bf16 needs a GPU; on cpu use fp32 or auto"], main.__module__
    assert not (tmp_path / "never").exists()
