"""The one export a run recommends, and that `score` takes by default: the best on the selection set, bi or
cross, of every member or of each kind's ensemble; the bi-encoder when nothing was scored."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from flows.score import recommended_export, score_file
from models.config import PipelineConfig
from pipeline.plan import CycleResult, best_cycles, best_export
from pipeline.summary import usage

BEST_CYCLE = {"minilm bi": 1, "minilm cross": 2, "mpnet bi": 1, "mpnet cross": 1}


def scores(**dev: float) -> dict[str, dict[str, float]]:
    """Rows of a two-member run whose STS-B dev values are given as minilm_bi=..., mpnet_cross=..."""
    rows = {f"cycle {c} {member} {kind}": {"dev": 0.0} for c in (1, 2) for member in ("minilm", "mpnet")
            for kind in ("bi", "cross")}
    for name, value in dev.items():
        member, kind = name.split("_")
        rows[f"cycle {BEST_CYCLE[f'{member} {kind}']} {member} {kind}"]["dev"] = value
    return rows


def test_the_best_on_dev_wins_whatever_its_kind_or_member() -> None:
    assert best_export(BEST_CYCLE, scores(minilm_bi=87.5, minilm_cross=87.2, mpnet_bi=86.0), "dev") == "minilm bi"
    assert best_export(BEST_CYCLE, scores(minilm_bi=80.0, mpnet_cross=88.1), "dev") == "mpnet cross"


def test_with_nothing_scored_the_bi_encoder_is_recommended() -> None:
    assert best_export({"bi": 3, "cross": 3}, {}, None) == "bi"


def test_score_takes_the_runs_recommendation_unless_a_kind_is_named(tmp_path: Path) -> None:
    exports = {"bi": str(tmp_path / "bi-encoder"), "cross": str(tmp_path / "cross-encoder")}
    rows = {"cycle 1 bi": {"dev": 87.5}, "cycle 1 cross": {"dev": 87.2}}
    (tmp_path / "manifest.json").write_text(json.dumps({"scores": rows, "best_cycle": {"bi": 1, "cross": 1},
                                                        "exports": exports, "recommended": "bi"}))
    assert recommended_export(tmp_path, "auto") == ([exports["bi"]], "bi")
    assert recommended_export(tmp_path, "cross") == ([exports["cross"]], "cross")


def test_an_ensemble_is_a_candidate_when_its_best_cycle_is_every_members() -> None:
    """Its members' exports are then exactly the models it averaged, so recommending it is truthful."""
    members = {"minilm": "minilm-l6", "mpnet": "mpnet-base"}
    rows = {f"cycle {c} {member} {kind}": {"dev": 80.0 + c * (member == "mpnet")} for c in (1, 2)
            for member in (*members, "ensemble") for kind in ("bi", "cross")}
    rows["cycle 2 ensemble bi"]["dev"] = 90.0
    chosen = best_cycles(PipelineConfig(models="minilm-l6,mpnet-base", cycles=2, eval="sts"),
                         CycleResult(members=members, scores=rows))
    assert chosen["minilm bi"] == 1 and chosen["mpnet bi"] == 2 and "ensemble bi" not in chosen
    rows["cycle 1 minilm bi"]["dev"] = 70.0  # now minilm's best bi is cycle 2 too
    chosen = best_cycles(PipelineConfig(models="minilm-l6,mpnet-base", cycles=2, eval="sts"),
                         CycleResult(members=members, scores=rows))
    assert chosen["ensemble bi"] == 2 and best_export(chosen, rows, "dev") == "ensemble bi"


def test_score_averages_an_ensembles_members(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    folders = [str(tiny_models["bert32"]), str(tiny_models["bert48"])]
    exports = {"a bi": folders[0], "b bi": folders[1], "a cross": "unused", "b cross": "unused"}
    rows = {"cycle 1 a bi": {"dev": 1.0}, "cycle 1 b bi": {"dev": 2.0}, "cycle 1 ensemble bi": {"dev": 3.0}}
    (tmp_path / "manifest.json").write_text(json.dumps({"scores": rows, "exports": exports,
                                                        "best_cycle": {"a bi": 1, "b bi": 1, "ensemble bi": 1},
                                                        "recommended": "ensemble bi"}))
    assert recommended_export(tmp_path, "auto") == (folders, "bi")
    pairs = tmp_path / "pairs.csv"
    pd.DataFrame({"sentence1": ["a cat sat", "rain today", "stocks fell"],
                  "sentence2": ["a cat sits", "sunny skies", "markets dropped"]}).to_csv(pairs, index=False)

    def scored(sources: list[str], name: str) -> np.ndarray:
        out = tmp_path / f"{name}.parquet"
        score_file(sources, "bi", pairs, out, "sentence1", "sentence2", 8, 2, 32, "cpu")
        return pd.read_parquet(out)["score"].to_numpy()

    each = [scored([folder], f"member{i}") for i, folder in enumerate(folders)]
    assert not np.allclose(each[0], each[1]) and np.allclose(scored(folders, "ensemble"), np.mean(each, axis=0))


def test_the_summarys_load_lines_are_python_that_loads_each_member_of_an_ensemble() -> None:
    lines = usage({"bi": (["/r/a/bi-encoder", "/r/b/bi-encoder"], 87.6), "cross": (["/r/a/cross-encoder"], 87.2)})
    compile(lines, "summary.md", "exec")
    assert "for path in ['/r/a/bi-encoder', '/r/b/bi-encoder']" in lines
    assert "CrossEncoder('/r/a/cross-encoder')" in lines
