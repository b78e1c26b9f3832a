"""`trans-encoder`: one console command whose --help answers without loading torch or Prefect."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pipeline.console import COMMANDS, main, version

HELP_IMPORTS = """
import json, sys
from pipeline.console import main
try:
    main(sys.argv[1:])
except SystemExit as done:
    heavy = sorted(name for name in ("torch", "prefect", "transformers") if name in sys.modules)
    print(json.dumps({"code": done.code, "heavy": heavy}))
"""


@pytest.mark.parametrize("argv", [["--help"], *([name, "--help"] for name in COMMANDS)])
def test_help_loads_no_heavy_library(argv: list[str]) -> None:
    done = subprocess.run([sys.executable, "-c", HELP_IMPORTS, *argv], capture_output=True, text=True, timeout=120)
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome == {"code": 0, "heavy": []}, done.stderr


def test_train_help_lists_every_setting_under_the_named_preset(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["train", "--preset", "paper", "--help"])
    shown = capsys.readouterr().out
    assert shown.startswith("usage: trans-encoder train")
    assert "--cross-lr FLOAT" in shown and "[paper: 2e-05]" in shown and "--engine" in shown


def test_version_is_the_installed_distributions(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--version"])
    from importlib import metadata

    assert capsys.readouterr().out.strip() == f"trans-encoder {metadata.version('trans-encoder-pipeline')}"
    assert version() == metadata.version("trans-encoder-pipeline")


def test_an_unknown_command_is_one_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["trian"])
    assert done.value.code == 2 and "invalid choice: 'trian'" in capsys.readouterr().err
