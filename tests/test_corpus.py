"""A corpus instead of pairs: its texts read and tidied, the pool mined from them (sharded or not, the same pool),
then the usual cycle; a bad corpus file ends with one line."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from artifacts.pairs import read_mined_pool
from flows.plain import run_plain
from models.config import PipelineConfig
from models.data import DataError
from models.data.corpus import load_corpus
from models.data.sts import read_stsb_split
from pipeline.run import plan_run

QUICK = dict(pool="corpus", cycles=1, max_steps=2, warmup="none", bi_batch_size=16, cross_batch_size=16,
             eval_batch_size=256, device="cpu", eval="none", mine_neighbours=3)


def test_corpus_files_are_tidied_and_counted(tmp_path: Path) -> None:
    lines = tmp_path / "texts.txt"
    lines.write_text("Reset my password\n\n  reset my password  \nReset my password\nopen an account\n   \n")
    texts, tidy = load_corpus(lines)
    assert texts == ["Reset my password", "reset my password", "open an account"]
    assert (tidy["texts"], tidy["dropped_empty"], tidy["first_dropped_rows"], tidy["duplicates"]) == (3, 2, [2, 6], 1)
    with pytest.raises(DataError, match="line 2: '' is not a text"):
        load_corpus(lines, strict=True)
    table = tmp_path / "texts.jsonl"
    table.write_text('{"body": "a ticket"}\n{"body": "another ticket"}\n{"body": null}\n')
    texts, tidy = load_corpus(table, "body")
    assert texts == ["a ticket", "another ticket"] and tidy["first_dropped_rows"] == [3]


def stsb_corpus(sts_dir: Path, path: Path, texts: int) -> Path:
    """Distinct STS-B dev sentences, their pairing thrown away."""
    dev = read_stsb_split(sts_dir, "dev", "dev")
    distinct = list(dict.fromkeys([*dev.sentences1, *dev.sentences2]))[:texts]
    path.write_text("\n".join(distinct) + "\n")
    return path


def mined(run_dir: Path) -> pd.DataFrame:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    return read_mined_pool(Path(next(e["path"] for e in manifest["entries"] if e["stage"] == "mine")))


@pytest.mark.slow
def test_a_mined_pool_feeds_the_cycle_and_sharded_mining_equals_unsharded(tiny_model_dir: Path, sts_dir: Path,
                                                                          tmp_path: Path) -> None:
    corpus = stsb_corpus(sts_dir, tmp_path / "texts.txt", 150)
    settings = dict(model=str(tiny_model_dir), corpus_path=str(corpus), **QUICK)
    whole = run_plain("paper", PipelineConfig(**settings), tmp_path / "whole")
    pool = mined(Path(whole["run_dir"]))
    assert set(pool["rank"]) == {0, 1, 2, 3}, "neighbour ranks 1..k and random pairs (rank 0)"
    assert (pool["text_a"] != pool["text_b"]).all(), "no self pairs"
    pairs = {frozenset(pair) for pair in zip(pool["text_a"], pool["text_b"])}
    assert len(pairs) == len(pool), "no pair twice, a-b and b-a counting as one"
    assert (pool["rank"] == 0).mean() == pytest.approx(PipelineConfig().mine_random, abs=0.01)
    cosine = pool.groupby("rank")["cosine"].mean()
    assert cosine[1] > cosine[3] > cosine[0], "nearer neighbours are more alike than farther ones and random pairs"
    summary = (Path(whole["run_dir"]) / "summary.md").read_text()
    assert f"Pool: {len(pool)} pairs mined from 150 texts" in summary
    assert "corpus" in summary and "150 distinct texts" in summary
    assert f"| random | - | {(pool['rank'] == 0).sum():,} | {cosine[0]:.3f} |" in summary, "pairs per rank, shown"

    sharded = run_plain("paper", PipelineConfig(**settings, shard_pairs=40), tmp_path / "sharded")
    titles = [e["title"] for e in json.loads((Path(sharded["run_dir"]) / "manifest.json").read_text())["entries"]]
    assert [t for t in titles if "neighbours" in t] == [f"neighbours rows {a}-{min(a + 40, 150)}"
                                                        for a in range(0, 150, 40)]
    pd.testing.assert_frame_equal(mined(Path(sharded["run_dir"])), pool)

    approximate = run_plain("paper", PipelineConfig(**settings, mine_exact_max=100), tmp_path / "hnsw")
    recall = json.loads((Path(approximate["run_dir"]) / "manifest.json").read_text())
    mine_metrics = next(e["metrics"] for e in recall["entries"] if e["stage"] == "mine")
    assert mine_metrics["search"] == "hnsw" and 0.5 < mine_metrics["recall_at_k"] <= 1, "above the switch: HNSW"
    assert f"hnsw search, recall@k {mine_metrics['recall_at_k']:.3f}" in \
        (Path(approximate["run_dir"]) / "summary.md").read_text()

    again = run_plain("paper", PipelineConfig(**settings), tmp_path / "whole")
    assert {e["status"] for e in json.loads((Path(again["run_dir"]) / "manifest.json").read_text())["entries"]} == \
        {"cached"}
    planned = {stage.title: stage for stage in plan_run("paper", PipelineConfig(**settings, mine_random=0.3),
                                                        tmp_path / "whole")}
    assert planned["mine"].reason == "settings changed (mine_random)"
    assert planned["neighbours"].status == "cached"

    lexical = run_plain("paper", PipelineConfig(**settings, mine_lexical=2), tmp_path / "whole")
    with_lexical = mined(Path(lexical["run_dir"]))
    statuses = {e["stage"]: e["status"] for e in json.loads((Path(lexical["run_dir"]) / "manifest.json").read_text())[
        "entries"]}
    assert statuses["neighbours"] == "cached" and statuses["mine"] == "ran", "lexical neighbours: the pool only"
    assert set(with_lexical["source"]) == {"neighbour", "lexical", "random"}
    assert len({frozenset(pair) for pair in zip(with_lexical["text_a"], with_lexical["text_b"])}) == len(with_lexical)
    words = [[set(text.lower().split()) for text in with_lexical[side]] for side in ("text_a", "text_b")]
    shared = pd.Series([len(a & b) / len(a | b) for a, b in zip(*words)]).groupby(with_lexical["source"]).mean()
    assert shared["lexical"] > shared["random"], "lexical neighbours share more words than random pairs"
    assert f"{(with_lexical['source'] == 'lexical').sum():,} lexical" in \
        (Path(lexical["run_dir"]) / "summary.md").read_text()
