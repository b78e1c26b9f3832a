"""benchmarks/corpus_mode.py's tables computed by hand: word overlap per label band, the cross-encoders' dev per gold
band, the row names of mined runs, a score row per cycle, and archiving a manifest without overwriting another run's."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from benchmarks.corpus_mode import archive, dev_bands, mining_settings, preset_changes, score_rows, word_overlap
from benchmarks.sts_corpus import pair_key
from pipeline.presets import PRESETS


def test_word_overlap_per_label_band_by_hand() -> None:
    pairs = pd.DataFrame({"text_a": ["A red car.", "the cat", "one two"], "text_b": ["a blue car", "a dog", "two"],
                          "label": [-0.3, 0.95, 0.5]})
    rows = word_overlap({"pool": pairs})
    assert rows[:2] == ["| label | pool |", "|---|---|"]
    assert rows[2:] == ["| below 0.2 | 0.50 |",  # {a, red, car} and {a, blue, car}: 2 of 4 words; a negative label
                        "| 0.2 to 0.4 | - |",
                        "| 0.4 to 0.6 | 0.50 |",  # {one, two} and {two}
                        "| 0.6 to 0.8 | - |",
                        "| 0.8 and up | 0.00 |"]


def test_dev_bands_give_the_mean_prediction_and_spearman_within_each_gold_band() -> None:
    scores = pd.DataFrame({"gold": [0.2, 0.6, 0.9, 4.0, 5.0, 4.5, 2.5, 2.0, 3.0],
                           "prediction": [0.1, 0.3, 0.2, 0.9, 0.8, 0.7, 0.5, 0.4, 0.6]})
    rows = dev_bands({"run": scores})
    assert rows[:2] == ["| gold | run |", "|---|---|"]
    assert rows[2] == "| 0 to 1 | 0.200 (50) |"  # gold ranks 1, 2, 3 against predictions 1, 3, 2: rho 0.5
    assert rows[4] == "| 2 to 3 | 0.450 (100) |"  # gold 2.5 and 2.0 against 0.5 and 0.4; 3.0 is in band 3
    # gold 4.0, 5.0 (5 joins the top band), 4.5: ranks 1, 3, 2 against the predictions' 3, 2, 1: rho 1 - 6*6/24
    assert rows[6] == "| 4 to 5 | 0.800 (-50) |"


def test_a_mined_runs_name_holds_its_mining_and_the_other_settings_it_changed() -> None:
    first = {"config": {"mine_neighbours": 3, "mine_random": 0.1, "cross_epochs": 1, "run_name": "a"}}
    changed = {"config": {"mine_neighbours": 3, "mine_random": 0.1, "mine_lexical": 3, "cross_epochs": 2,
                          "run_name": "b", "newer_setting": 1}}
    assert mining_settings(first, first) == "mined, 3 neighbours, 10% random"
    assert mining_settings(changed, first) == "mined, 3 neighbours, 3 lexical neighbours, 10% random, cross-epochs 2"


def test_preset_changes_name_the_training_settings_a_run_moved_from_the_cpu_preset() -> None:
    def run(**changes: object) -> dict:
        return {"config": json.loads(json.dumps(PRESETS["cpu"].replace(**changes).to_dict()))}

    assert preset_changes(run()) == ""
    corpus = {"pool": "corpus", "corpus_path": "/data/texts.txt", "mine_lexical": 3}  # inputs and mining aside
    assert preset_changes(run(**corpus)) == ""
    assert preset_changes(run(**corpus, cross_epochs=3)) == "--cross-epochs 3"
    assert preset_changes(run(cross_epochs=3, cross_lr=5e-5)) == "--cross-lr 5e-05, --cross-epochs 3"


def test_archive_keeps_another_runs_manifest_under_the_same_name(tmp_path: Path) -> None:
    def manifest(run_name: str, started: str) -> Path:
        path = tmp_path / f"{run_name}-{started}.json"
        path.write_text(json.dumps({"run_name": run_name, "started": started}))
        return path

    folder = tmp_path / "manifests"
    folder.mkdir()
    first = manifest("cpu-aaaa", "t1")
    for _ in range(2):  # the same run archived again is rewritten in place
        target = archive(first, json.loads(first.read_text()), "cpu-corpus-k3-r10", folder)
        assert target == folder / "cpu-corpus-k3-r10.json"
    for other in (manifest("cpu-bbbb", "t2"), manifest("cpu-aaaa", "t3")):  # other settings; the same, run again
        run = json.loads(other.read_text())
        target = archive(other, run, "cpu-corpus-k3-r10", folder)
        assert target == folder / f"cpu-corpus-k3-r10-{run['run_name']}.json"
        assert json.loads(target.read_text()) == run
    assert json.loads((folder / "cpu-corpus-k3-r10.json").read_text()) == {"run_name": "cpu-aaaa", "started": "t1"}


def test_a_run_of_two_cycles_has_a_score_row_per_cycle(tmp_path: Path) -> None:
    pool = tmp_path / "mine.parquet"
    pd.DataFrame({"text_a": ["A cat sits.", "a dog"], "text_b": ["a  CAT runs.", "a fish"]}).to_parquet(pool)
    scores = {"start bi": {"avg": 78.0, "dev": 86.0}, "cycle 1 bi": {"avg": 79.0, "dev": 87.0},
              "cycle 1 cross": {"avg": 77.0, "dev": 85.0}, "cycle 2 bi": {"avg": 79.5, "dev": 87.5},
              "cycle 2 cross": {"avg": 77.5, "dev": 85.5}}
    run = {"config": {"cycles": 2}, "scores": scores, "commit": "abc1234", "wall_seconds": 600,
           "entries": [{"stage": "mine", "path": str(pool), "metrics": {"pairs": 2}}]}
    test_pairs = {pair_key("a cat runs.", "A CAT SITS."), pair_key("a bird", "a fish")}  # the first is in the pool
    assert score_rows("mined", run, test_pairs) == [
        "| mined, cycle 1 | `abc1234` | 2 | 1 (50.0%) | 78.00 | 86.00 | 79.00 | 87.00 | 77.00 | 85.00 | 10 |",
        "| mined, cycle 2 | `abc1234` | 2 | 1 (50.0%) | 78.00 | 86.00 | 79.50 | 87.50 | 77.50 | 85.50 | 10 |"]
    one_cycle = {**run, "config": {"cycles": 1}}
    assert score_rows("mined", one_cycle, test_pairs) == [
        "| mined | `abc1234` | 2 | 1 (50.0%) | 78.00 | 86.00 | 79.00 | 87.00 | 77.00 | 85.00 | 10 |"]
