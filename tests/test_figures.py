"""Docs that cannot drift: every quoted figure equals its recorded source, and every manifest a doc names exists."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import figures


def test_the_repository_quotes_every_figure_as_recorded(capsys: pytest.CaptureFixture[str]) -> None:
    files = figures.quoting_files()
    assert figures.REPO / "README.md" in files and figures.HERE / "MEMORY.md" in files
    figures.main(["--check"])  # exits 1, naming file:line, on a stale or unknown quote
    assert capsys.readouterr().err == ""


def test_a_wrong_or_unknown_quote_fails_the_check_and_write_fixes_the_value(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = tmp_path / "DOC.md"
    doc.write_text("# A doc\n\nThe cold run took <!--fig:cpu/minutes-->35<!--/fig--> min, "
                   "bi-encoder <!--fig:cpu/cycle 1 bi/avg-->80.25<!--/fig-->.\n"
                   "Speed <!--fig:speed/no-such-task/ratio-->2.00<!--/fig-->x.\n")
    with pytest.raises(SystemExit) as failed:
        figures.main(["--check", str(doc)])
    assert failed.value.code == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{doc}:3: cpu/minutes is 36 (benchmarks/manifests/cpu.json), quoted as '35'",
        f"{doc}:4: unknown figure 'speed/no-such-task/ratio'",
    ]

    with pytest.raises(SystemExit):
        figures.main(["--write", str(doc)])  # the unknown quote still fails
    assert "<!--fig:cpu/minutes-->36<!--/fig-->" in doc.read_text()
    assert "<!--fig:speed/no-such-task/ratio-->2.00<!--/fig-->" in doc.read_text()


def test_figures_read_their_recorded_sources() -> None:
    assert figures.figure("cpu/minutes") == str(round(figures.figures()["cpu/wall seconds"].value / 60))
    speed = json.loads(figures.SPEED.read_text())
    assert figures.figure("speed/bi_scoring/ratio") == f"{speed['bi_scoring_ratio']:.2f}"
    row = next(line for line in figures.INT8.read_text().splitlines() if line.startswith("| bi mpnet-base |"))
    dev_fp32, dev_int8 = (float(cell) for cell in row.strip("|").split("|")[5:7])
    assert figures.figure("int8/bi mpnet-base/dev loss") == f"{dev_fp32 - dev_int8:.1f}"
    with pytest.raises(KeyError, match="--list"):
        figures.figure("cpu/no such figure")


def test_every_source_and_every_manifest_a_doc_names_exists() -> None:
    for name, found in figures.figures().items():
        assert found.source.is_file(), name
    named = {(path, mention) for path in figures.quoting_files()
             for mention in figures.MANIFEST_PATH.findall(path.read_text())}
    assert named, "the docs name their manifests"
    missing = sorted(f"{path.relative_to(figures.REPO)}: {mention}" for path, mention in named
                     if not (figures.REPO / mention).is_file())
    assert not missing, missing
