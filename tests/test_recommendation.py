"""The one export a run recommends, and that `score` takes by default: the best on the selection set, bi or
cross, of every member; the bi-encoder when nothing was scored."""
from __future__ import annotations

import json
from pathlib import Path

from flows.score import recommended_export
from pipeline.plan import best_export

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
    assert recommended_export(tmp_path, "auto") == (exports["bi"], "bi")
    assert recommended_export(tmp_path, "cross") == (exports["cross"], "cross")
