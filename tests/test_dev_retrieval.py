"""`train --dev-retrieval`: nDCG@10 on a search task chooses the best cycle, through the retrieval-scores stage."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from flows.plain import run_plain
from models.config import PipelineConfig
from models.data import load_stsb_dev
from models.data.retrieval_task import task_from_pairs, write_beir
from models.metrics import NDCG10, RECALL100, selection_metric
from pipeline.plan import CycleResult, best_cycles
from pipeline.preflight import preflight
from pipeline.run import plan_run
from tests.test_pipeline import QUICK, entries


def search_folder(sts_dir: Path, folder: Path) -> Path:
    """STS-B dev's first 60 pairs as a search task: a pair scored 4 or more is a query and its answer."""
    dev = load_stsb_dev(sts_dir)
    pairs = folder / "pairs.csv"
    pd.DataFrame({"sentence1": dev.sentences1[:60], "sentence2": dev.sentences2[:60],
                  "label": (dev.scores[:60] >= 4).astype(int)}).to_csv(pairs, index=False)
    return write_beir(task_from_pairs(pairs), folder / "task")


@pytest.mark.slow
def test_dev_retrieval_chooses_each_export_by_ndcg_and_its_folder_is_in_the_key(
        tiny_model_dir: Path, mini_sts_dir: Path, tmp_path: Path) -> None:
    task = search_folder(mini_sts_dir, tmp_path)
    config = PipelineConfig(model=str(tiny_model_dir), data_dir=str(mini_sts_dir), cycles=2, dev_retrieval=str(task),
                            rerank_k=5, **QUICK)
    assert selection_metric(config) == NDCG10
    outcome = run_plain("paper", config, tmp_path / "runs")
    scores = outcome["scores"]
    assert NDCG10 not in scores["start bi"], "the search task scores the cycles"
    for kind in ("bi", "cross"):
        by_cycle = {c: scores[f"cycle {c} {kind}"][NDCG10] for c in (1, 2)}
        assert outcome["best_cycle"][kind] == max(by_cycle, key=by_cycle.get), kind
        assert 0 <= by_cycle[1] <= 100 and "dev" in scores[f"cycle 1 {kind}"], "STS scores are still there"
    assert scores["cycle 1 bi"][RECALL100] == scores["cycle 1 cross"][RECALL100], \
        "reranking the top 5 of 100 keeps the same 100 documents"
    run_dir = Path(outcome["run_dir"])
    assert "nDCG@10 (--dev-retrieval)" in (run_dir / "summary.md").read_text()
    searches = [e for e in entries(run_dir) if e["stage"] == "retrieval-scores"]
    assert [e["title"] for e in searches] == [f"cycle {c}: retrieval-scores {k} [tiny-bert0]"
                                              for c in (1, 2) for k in ("bi", "cross")]

    again = run_plain("paper", config, tmp_path / "runs")
    assert again["scores"] == scores, "cached search stages report the same means, read back from their rows"

    (task / "qrels" / "test.tsv").write_text((task / "qrels" / "test.tsv").read_text().rsplit("\n", 2)[0] + "\n")
    planned = {stage.title: stage for stage in plan_run("paper", config, tmp_path / "runs")}
    assert planned["cycle 1: retrieval-scores bi [tiny-bert0]"].status == "will run", "new judgements, new key"


def test_with_dev_retrieval_an_ensemble_without_a_search_score_is_not_exported() -> None:
    config = PipelineConfig(cycles=2, dev_retrieval="task", eval="sts")
    scores = {f"cycle {c} {member} {kind}": {NDCG10: float(c if member == "a" else 3 - c), "dev": 50.0}
              for c in (1, 2) for member in ("a", "b") for kind in ("bi", "cross")}
    scores |= {f"cycle {c} ensemble {kind}": {"dev": 60.0} for c in (1, 2) for kind in ("bi", "cross")}
    result: CycleResult[str] = CycleResult(scores=scores, members={"a": "a", "b": "b"})
    assert best_cycles(config, result) == {"a bi": 2, "b bi": 1, "a cross": 2, "b cross": 1}


def test_dev_retrieval_in_a_run_that_scores_nothing_is_one_line_before_any_work(
        tiny_model_dir: Path, mini_sts_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pool = tmp_path / "pool.csv"
    pd.DataFrame({"sentence1": [f"question {i}" for i in range(200)],
                  "sentence2": [f"answer {i}" for i in range(200)]}).to_csv(pool, index=False)
    task = search_folder(mini_sts_dir, tmp_path)
    config = PipelineConfig(model=str(tiny_model_dir), pool="custom", pool_path=str(pool), eval="none",
                            dev_retrieval=str(task))
    with pytest.raises(SystemExit) as done:
        preflight(config, tmp_path / "runs")
    error = capsys.readouterr().err.strip()
    assert done.value.code == 2 and error.startswith(f"error: --dev-retrieval {task} chooses among scored cycles")
    assert "\n" not in error
